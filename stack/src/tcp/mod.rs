//! TCP (RFC 9293). Being written.
