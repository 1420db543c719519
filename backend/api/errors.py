"""A domain error as the HTTP answer every route gives for it (the body `ErrorOut` describes)."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from backend.errors import BackendError


def error_response(exc: BackendError) -> JSONResponse:
    headers = {"Retry-After": str(exc.details["retry_after"])} if "retry_after" in exc.details else None
    body = {"detail": str(exc), "error": type(exc).__name__} | exc.details
    return JSONResponse(body, status_code=exc.status, headers=headers)
