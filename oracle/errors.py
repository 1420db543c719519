"""One root exception for the oracle, so callers can catch everything it raises on purpose."""


class OracleError(Exception):
    """Base of every error the oracle raises deliberately."""


class SpecError(OracleError):
    """A metric spec is malformed; the message names the field."""


class SourceError(OracleError):
    """A source could not be read or parsed; nothing is signed."""


class EvidenceError(OracleError):
    """Evidence bytes are missing or do not match their hash."""


class KeyUnavailable(OracleError):
    """A signing key could not be loaded (wrong password, missing file, dev key outside dev mode)."""
