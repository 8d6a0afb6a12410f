from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload


class SizeLimitUploadHandler(FileUploadHandler):
    """Stop reading a multipart upload as soon as one file passes UPLOAD_MAX_BYTES.

    Runs before Django's own handlers, so an oversized file is never written
    to memory or to a temporary file. The name of the file is left on the
    request as `upload_too_large` for the view to report.
    """

    def new_file(self, field_name, file_name, *args, **kwargs):
        self.file_name = file_name
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.UPLOAD_MAX_BYTES:
            self.request.upload_too_large = self.file_name
            # Read and discard the rest of the request, so the browser gets the error page.
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None
