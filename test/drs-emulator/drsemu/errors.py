"""Error answers in the two shapes Microsoft's services use.

DRS (enterpriseregistration) answers {"ErrorType", "Message", "TraceId",
"Time"}; the login service answers {"error", "error_description" starting
with an AADSTS code, "error_codes", ...}. Handlers raise these; the server
turns them into responses and logs them.
"""
import datetime
import uuid


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def drs_time(now=None):
    """Time as DRS writes it: "10/12/2023 3:05:30 PM" (UTC)."""
    t = now or utcnow()
    hour = t.hour % 12 or 12
    return "%d/%d/%d %d:%02d:%02d %s" % (t.month, t.day, t.year, hour, t.minute,
                                          t.second, "AM" if t.hour < 12 else "PM")


def new_guid():
    return str(uuid.uuid4())


class HttpError(Exception):
    """An error answer: HTTP status, JSON body, extra headers."""

    def __init__(self, status, body, headers=None):
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


class DrsError(HttpError):
    def __init__(self, status, error_type, message, headers=None):
        self.error_type = error_type
        self.message = message
        super().__init__(status, drs_error_body(error_type, message), headers)

    def __str__(self):
        return "%d %s: %s" % (self.status, self.error_type, self.message)


def drs_error_body(error_type, message):
    return {"ErrorType": error_type, "Message": message,
            "TraceId": new_guid(), "Time": drs_time()}


class LoginError(HttpError):
    def __init__(self, status, error, code, text, headers=None):
        self.error = error
        self.code = code
        super().__init__(status, login_error_body(error, code, text), headers)

    def __str__(self):
        return "%d %s AADSTS%d" % (self.status, self.error, self.code)


def login_error_body(error, code, text):
    trace, corr, now = new_guid(), new_guid(), utcnow()
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    return {
        "error": error,
        "error_description": "AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s"
                             % (code, text, trace, corr, stamp),
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": corr,
        "error_uri": "https://login.microsoftonline.com/error?code=%d" % code,
    }
