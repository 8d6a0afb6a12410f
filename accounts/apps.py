from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and stores")

    def ready(self):
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_login_failed

        from accounts import audit

        user_login_failed.connect(audit.on_login_failed, dispatch_uid="accounts.audit.login_failed")
        user_locked_out.connect(audit.on_locked_out, dispatch_uid="accounts.audit.locked_out")
