"""Client certificates: let the HTTP handler, not the TLS layer, judge them.

Python's ssl module verifies a client certificate against the loaded CAs and
aborts the handshake with a TLS alert when it does not chain. A client then
sees "handshake failure" instead of a clear 401. OpenSSL itself allows a
verify callback that accepts any chain; Python does not expose it, so it is
installed here through ctypes on the SSL_CTX behind the SSLContext. TLS still
proves the client holds the certificate's private key (CertificateVerify);
only the chain check moves to the handler (pki.check_device_cert).

If the hook cannot be installed (another Python build), the caller falls back
to TLS-level verification against the device CA: a foreign certificate is
then refused with a TLS alert (unknown CA) rather than an HTTP 401.
"""
import ctypes
import ssl

_VERIFY_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)


@_VERIFY_CB
def _accept_any(preverify_ok, store_ctx):
    return 1


def _ssl_ctx_pointer(ctx):
    """The SSL_CTX* inside a CPython SSLContext: the first field after
    PyObject_HEAD (refcount, type). Checked against the object's type."""
    head = ctypes.sizeof(ctypes.c_ssize_t) + ctypes.sizeof(ctypes.c_void_p)
    if ctypes.c_void_p.from_address(id(ctx) + ctypes.sizeof(ctypes.c_ssize_t)).value != id(type(ctx)):
        return None
    return ctypes.c_void_p.from_address(id(ctx) + head).value


def _libssl():
    import _ssl
    # dlopen of the _ssl module resolves symbols in the very libssl it uses.
    return ctypes.CDLL(getattr(_ssl, "__file__", None))


def accept_any_client_cert(ctx):
    """Request an optional client certificate and accept any chain at the TLS
    layer. Returns True when installed; False means: not possible here."""
    ctx.verify_mode = ssl.CERT_OPTIONAL
    try:
        lib = _libssl()
        ptr = _ssl_ctx_pointer(ctx)
        if not ptr:
            return False
        lib.SSL_CTX_get_verify_mode.argtypes = [ctypes.c_void_p]
        lib.SSL_CTX_get_verify_mode.restype = ctypes.c_int
        lib.SSL_CTX_get_options.argtypes = [ctypes.c_void_p]
        lib.SSL_CTX_get_options.restype = ctypes.c_uint64
        # Sanity: the pointer must behave like this very context.
        if (lib.SSL_CTX_get_verify_mode(ptr) != 1
                or lib.SSL_CTX_get_options(ptr) != int(ctx.options)):
            return False
        lib.SSL_CTX_set_verify.argtypes = [ctypes.c_void_p, ctypes.c_int, _VERIFY_CB]
        lib.SSL_CTX_set_verify.restype = None
        lib.SSL_CTX_set_verify(ptr, 1, _accept_any)   # SSL_VERIFY_PEER, optional
        return True
    except (OSError, AttributeError, ValueError):
        return False
