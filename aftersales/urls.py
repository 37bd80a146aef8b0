from django.urls import path

from aftersales.views import disputes, inbox, policies, ratings, replies

app_name = "aftersales"

urlpatterns = [
    # the inbox: the default view
    path("", inbox.index, name="index"),
    path("badge/", inbox.badge, name="badge"),
    path("items/<str:kind>/<int:pk>/handled/", inbox.handled, name="handled"),
    path("items/<str:kind>/<int:pk>/assign/", inbox.assign, name="assign"),
    path("items/<str:kind>/<int:pk>/note/", inbox.note, name="note"),
    # ratings
    path("ratings/", ratings.index, name="ratings"),
    path("ratings/summary/", ratings.summary, name="ratings_summary"),
    path("ratings/<int:pk>/", ratings.detail, name="rating"),
    path("ratings/<int:pk>/answer/", ratings.answer, name="rating_answer"),
    path("ratings/<int:pk>/removal/", ratings.removal, name="rating_removal"),
    # saved replies
    path("replies/", replies.index, name="replies"),
    path("replies/new/", replies.create, name="reply_create"),
    path("replies/<int:pk>/", replies.edit, name="reply_edit"),
    path("replies/<int:pk>/delete/", replies.delete, name="reply_delete"),
    # disputes and claims
    path("disputes/", disputes.index, name="disputes"),
    path("disputes/<int:pk>/", disputes.detail, name="dispute"),
    path("disputes/<int:pk>/reply/", disputes.reply, name="dispute_reply"),
    path("disputes/<int:pk>/decision/", disputes.decide, name="dispute_decide"),
    path(
        "disputes/<int:pk>/messages/<int:message_pk>/attachments/<int:index>/",
        disputes.attachment,
        name="dispute_attachment",
    ),
    # return policies and warranties
    path("policies/", policies.index, name="policies"),
    path("policies/new/<int:account_id>/", policies.create, name="policy_create"),
    path("policies/<int:pk>/", policies.edit, name="policy"),
    path("policies/<int:pk>/delete/", policies.delete, name="policy_delete"),
    path("policies/<int:pk>/copy/", policies.copy, name="policy_copy"),
    path("warranties/", policies.warranties, name="warranties"),
]
