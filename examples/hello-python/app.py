"""hello-python: an HTTP component answering every request with
`hello from python`, built by `wash build` through componentize-py."""

from componentize_py_types import Ok
from wit_world import exports
from wit_world.imports.types import (
    Fields,
    IncomingRequest,
    OutgoingBody,
    OutgoingResponse,
    ResponseOutparam,
)

BODY = b"hello from python"


class IncomingHandler(exports.IncomingHandler):
    """Serves `wasi:http/incoming-handler`: every request gets the greeting."""

    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        headers = Fields.from_list([("content-type", b"text/plain")])
        response = OutgoingResponse(headers)
        body = response.body()
        ResponseOutparam.set(response_out, Ok(response))
        with body.write() as stream:
            stream.blocking_write_and_flush(BODY)
        OutgoingBody.finish(body, None)
