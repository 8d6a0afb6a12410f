import argparse
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from accounts.models import Store
from traffic import actions, jobs
from traffic.bulk import bulk_import
from traffic.dimensions import Granularity, Region, Terminal
from traffic.importers.base import ImportOptions
from traffic.importers.values import InvalidValue, parse_period_option
from traffic.models import Upload

READ_BLOCK = 1024 * 1024


def period_argument(text):
    try:
        return parse_period_option(text)
    except InvalidValue as exc:
        raise argparse.ArgumentTypeError(_(exc.message)) from None


class Command(BaseCommand):
    help = (
        "Import Data Manager exports into a store synchronously, one line per file. "
        "Options override what a file states; when neither says, terminal and region are 'all' "
        "and the granularity comes from the file's period or dates."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE", help="Export files (.xls, .xlsx, .csv, .txt).")
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--store", help="Slug of the store that receives the figures.")
        target.add_argument(
            "--bulk", action="store_true",
            help="Platform staff only: import canonical CSV files whose store column names each row's store.",
        )
        parser.add_argument("--granularity", choices=Granularity.values, default="", help="Period length of the figures.")
        parser.add_argument("--terminal", choices=Terminal.values, default="", help="Terminal of the figures.")
        parser.add_argument("--region", choices=Region.values, default="", help="all, or exclude_cn for traffic without mainland China.")
        parser.add_argument(
            "--period", type=period_argument, default=None, metavar="FIRST~LAST",
            help="Period of files that state none in their title, e.g. 2026-11-16~2026-11-22.",
        )

    def handle(self, *args, **opts):
        if opts["bulk"]:
            return self._handle_bulk(opts["files"])

        store = Store.objects.filter(slug=opts["store"]).first()
        if store is None:
            raise CommandError(_("Store %(slug)s not found.") % {"slug": opts["store"]})

        options = ImportOptions(
            granularity=opts["granularity"],
            terminal=opts["terminal"],
            region=opts["region"],
            period=opts["period"],
        )
        failed = 0
        for name in opts["files"]:
            if not self._import_one(store, Path(name), options):
                failed += 1

        if failed:
            raise CommandError(
                _("%(failed)d of %(total)d files failed.") % {"failed": failed, "total": len(opts["files"])},
                returncode=1,
            )

    def _handle_bulk(self, files):
        failed = 0
        for name in files:
            path = Path(name)
            if not path.is_file():
                self.stdout.write(_("%(path)s: failed: cannot read the file (%(reason)s)") % {"path": path, "reason": _("not found")})
                failed += 1
                continue
            result = bulk_import(path, path.name)
            if result.errors:
                failed += 1
                self.stdout.write(_("%(path)s: failed: %(error)s") % {"path": path, "error": result.errors[0].render()})
                continue
            figures = sum(upload.figures_imported for upload in result.uploads)
            self.stdout.write(
                _("%(path)s: imported %(count)d figures into %(stores)d stores; %(unchanged)d stores already had this file")
                % {"path": path, "count": figures, "stores": len(result.uploads), "unchanged": len(result.unchanged_stores)}
            )
        if failed:
            raise CommandError(_("%(failed)d of %(total)d files failed.") % {"failed": failed, "total": len(files)}, returncode=1)

    def _import_one(self, store, path: Path, options: ImportOptions) -> bool:
        try:
            with path.open("rb") as handle:
                chunks = iter(lambda: handle.read(READ_BLOCK), b"")
                upload = actions.store_upload_file(store, chunks, path.name, options=options)
        except OSError as exc:
            self.stdout.write(_("%(path)s: failed: cannot read the file (%(reason)s)") % {"path": path, "reason": exc.strerror})
            return False
        except actions.FileTooLarge:
            self.stdout.write(_("%(path)s: failed: the file is larger than the upload limit") % {"path": path})
            return False
        except actions.DuplicateUpload as duplicate:
            self.stdout.write(
                _("%(path)s: already imported as upload %(id)s; nothing changed") % {"path": path, "id": duplicate.existing.id}
            )
            return True

        attempt = jobs.claim_upload(upload.id)
        upload = jobs.run_import(upload.id, attempt)
        if upload.status == Upload.Status.SUCCEEDED:
            warnings = sum(1 for message in upload.messages if message["level"] == "warning")
            self.stdout.write(
                _("%(path)s: imported %(count)d figures (%(layout)s, %(warnings)d warnings)")
                % {"path": path, "count": upload.figures_imported, "layout": upload.layout, "warnings": warnings}
            )
            return True

        self.stdout.write(_("%(path)s: failed: %(error)s") % {"path": path, "error": upload.error_summary()})
        return False
