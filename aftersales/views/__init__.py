"""After-sales pages, one module per area: ``inbox`` (the default view), ``ratings``,
``replies`` (saved replies); disputes and return policies get their own modules."""
