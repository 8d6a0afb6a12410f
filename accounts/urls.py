from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts import audit_views, member_views, store_views, views

app_name = "accounts"

password_urls = [
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(success_url=reverse_lazy("accounts:password_change_done")),
        name="password_change",
    ),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path(
        "password/reset/",
        auth_views.PasswordResetView.as_view(
            success_url=reverse_lazy("accounts:password_reset_done"),
            email_template_name="registration/password_reset_email.txt",
            subject_template_name="registration/password_reset_subject.txt",
        ),
        name="password_reset",
    ),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(success_url=reverse_lazy("accounts:password_reset_complete")),
        name="password_reset_confirm",
    ),
    path("password/reset/complete/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]

store_urls = [
    path("stores/<slug:slug>/members/", member_views.member_list, name="members"),
    path("stores/<slug:slug>/members/invite/", member_views.invite, name="invite"),
    path("stores/<slug:slug>/members/transfer/", member_views.transfer_ownership, name="transfer_ownership"),
    path("stores/<slug:slug>/members/<int:membership_id>/role/", member_views.change_role, name="change_role"),
    path("stores/<slug:slug>/members/<int:membership_id>/remove/", member_views.remove_member, name="remove_member"),
    path(
        "stores/<slug:slug>/invitations/<int:invitation_id>/revoke/",
        member_views.revoke_invitation,
        name="revoke_invitation",
    ),
    path("stores/<slug:slug>/leave/", views.leave_store, name="leave_store"),
    path("stores/<slug:slug>/settings/", store_views.store_settings, name="store_settings"),
    path("stores/<slug:slug>/delete/", store_views.delete_store, name="delete_store"),
    path("stores/<slug:slug>/export.zip", store_views.export_store, name="export_store"),
    path("stores/<slug:slug>/tokens/", store_views.token_list, name="tokens"),
    path("stores/<slug:slug>/tokens/<int:token_id>/revoke/", store_views.revoke_token, name="revoke_token"),
    path("stores/<slug:slug>/audit/", audit_views.store_audit_log, name="store_audit"),
]

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("stores/", views.store_list, name="stores"),
    path("invitations/<str:token>/", views.accept_invitation, name="invitation"),
    path("audit/", audit_views.platform_audit_log, name="audit"),
    *password_urls,
    *store_urls,
]
