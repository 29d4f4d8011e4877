//! Rendering: turning an outbox entry into the words of its channel. [`templates`] renders
//! with minijinja (sandboxed) from the built-in [`defaults`] or a shop's own template, checked
//! by [`validate`]; [`segments`] counts an SMS's parts, [`dates`] writes dates as people read
//! them, and [`links`] signs the unsubscribe and callback links a message carries.

pub mod dates;
pub mod defaults;
pub mod links;
pub mod segments;
pub mod templates;
pub mod validate;

/// Rendered text for one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rendered {
    /// A text message.
    Sms {
        /// The text.
        text: String,
    },
    /// An e-mail.
    Email {
        /// Subject line.
        subject: String,
        /// Plain-text part.
        text: String,
        /// HTML part.
        html: String,
        /// Files attached (the shop report's workbook).
        attachments: Vec<Attachment>,
    },
}

/// A file attached to an e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file name the recipient sees.
    pub filename: String,
    /// Its MIME type.
    pub content_type: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}
