import logging

from celery import shared_task

from traffic import actions

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def import_upload(upload_id: int) -> None:
    """Import one upload by id; a second delivery of the same id does nothing."""
    if not actions.claim_upload(upload_id):
        logger.info("import skipped upload=%s: not queued any more", upload_id)
        return

    try:
        actions.run_import(upload_id)
    except Exception:
        logger.exception("import crashed upload=%s", upload_id)
        actions.fail_upload(upload_id, actions.IMPORT_CRASHED)
        raise
