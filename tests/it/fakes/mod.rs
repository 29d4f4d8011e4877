//! Servers that stand in for the outside world on loopback: an SMTP server (mailin-embedded)
//! and an SMS gateway speaking the SMS.ru and SMSC.ru HTTP protocols. Both can be told to fail.

pub mod sms_gateway;
pub mod smtp;
