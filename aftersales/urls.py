from django.urls import path

from aftersales.views import billing, disputes, inbox, policies, ratings, replies, returns
from aftersales.views import messages as buyer_messages

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
    # customer returns and refunds
    path("returns/", returns.index, name="returns"),
    path("returns/<int:pk>/", returns.detail, name="return"),
    path("returns/<int:pk>/reject/", returns.reject, name="return_reject"),
    path("refunds/<int:account_id>/<str:order_id>/", returns.refund, name="refund"),
    path("refunds/<int:account_id>/<str:order_id>/claim/", returns.claim, name="refund_claim"),
    path("refunds/<int:pk>/", returns.refund_status, name="refund_status"),
    # buyer messages
    path("messages/", buyer_messages.index, name="messages"),
    path("messages/new/", buyer_messages.new, name="message_new"),
    path("messages/<int:pk>/", buyer_messages.thread, name="thread"),
    path("messages/<int:pk>/reply/", buyer_messages.reply, name="thread_reply"),
    path(
        "messages/<int:pk>/messages/<int:message_pk>/attachments/<int:index>/",
        buyer_messages.attachment,
        name="thread_attachment",
    ),
    # billing
    path("billing/", billing.index, name="billing"),
    path("billing/order/<int:account_id>/<str:order_id>/", billing.order_fees, name="order_fees"),
]
