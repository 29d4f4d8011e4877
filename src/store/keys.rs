//! Key layouts of the store's trees. Every key that belongs to a shop starts with the shop id,
//! so one shop's data is a prefix range; times are big-endian milliseconds so keys sort by time.
//!
//! | tree       | key                                                         | value          |
//! |------------|-------------------------------------------------------------|----------------|
//! | `shops`    | shop                                                        | shop record    |
//! | `tokens`   | sha256 of the token, hex                                    | shop id        |
//! | `parcels`  | shop `\0` track                                             | parcel record  |
//! | `by_order` | shop `\0` order id `\0` track                               | empty          |
//! | `due`      | time(8) kind(1) shop `\0` track                             | carrier        |
//! | `outbox`   | shop `\0` track `\0` parcel id(8) kind(1) occurrence(4) channel(1) | entry (its facts only once it is finished, or for the shop) |
//! | `queue`    | channel(1) state(1) time(8) outbox key                      | empty          |
//! | `leases`   | shop `\0` track (a poll in flight)                          | lease end(8), or lease end(8) `T` ticket key for a parcel in a batch ticket |
//! | `usage`    | shop `\0` month (`2026-11`)                                 | new parcels(8) |
//! | `reports`  | shop `\0` day (`2026-11-25`)                                | sent at(8)     |
//! | `tombstones` | shop (being erased)                                       | since(8)       |
//! | `tickets`  | carrier tag(1) ticket id                                    | ticket record  |
//! | `offices`  | postal index                                                | office entry   |
//! | `templates`| shop `\0` kind(1) part(1)                                   | template       |
//! | `optouts`  | `p` shop `\0` track `\0` channel(1), or `s` shop `\0` channel(1) recipient (`r` channel(1) recipient in stores before opt-outs were per shop) | opt-out |
//! | `recipients` | `e` channel(1) recipient `\0` outbox key (every message), `s` channel(1) recipient `\0` sent at(8) outbox key (sent ones) | empty |
//! | `receipts` | provider `\0` provider's message id                         | outbox key     |
//! | `counts`   | channel(1) queue(1), as in `queue`: pending, sending, dead  | entries(8)     |
//! | `webhooks` | endpoints, deliveries, lanes, queues and stuck timers, by first byte (see `store/webhooks/`) | |
//! | `page_codes` | a tracking page's code (ten characters, outside transactions) | shop, track, parcel id |
//! | `meta`     | name: `schema_version`, `outbox_counts`, `budget/<carrier>`, `pause/<carrier>`, `plan/<carrier>`, `migrated/<what>`, `once/<what>` | value |

use crate::domain::notification::{Channel, NotificationKind};
use crate::domain::outbox::{DeliveryState, OutboxEntry, OutboxKey};
use crate::domain::parcel::ParcelKey;
use crate::domain::shop::ShopId;
use crate::domain::template::Part;
use crate::domain::track::TrackNumber;
use jiff::Timestamp;

/// The separator between variable-length key parts; shop ids, tracks and order ids never
/// contain it.
pub const SEP: u8 = 0;

/// Milliseconds since the epoch, clamped to zero, big-endian.
pub fn time(t: Timestamp) -> [u8; 8] {
    (t.as_millisecond().max(0) as u64).to_be_bytes()
}

/// The time a key's first eight bytes hold.
pub fn read_time(bytes: &[u8]) -> Option<Timestamp> {
    let arr: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    Timestamp::from_millisecond(u64::from_be_bytes(arr) as i64).ok()
}

/// `shop \0`: the prefix of everything of a shop in a shop-keyed tree.
pub fn shop_prefix(shop: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(shop.len() + 1);
    k.extend_from_slice(shop.as_bytes());
    k.push(SEP);
    k
}

/// `shop \0 track`.
pub fn parcel(shop: &str, track: &str) -> Vec<u8> {
    let mut k = shop_prefix(shop);
    k.extend_from_slice(track.as_bytes());
    k
}

/// Splits a parcel key into shop and track.
pub fn split_parcel(key: &[u8]) -> Option<ParcelKey> {
    let i = key.iter().position(|&b| b == SEP)?;
    let shop = std::str::from_utf8(&key[..i]).ok()?;
    let track = std::str::from_utf8(&key[i + 1..]).ok()?;
    // The store wrote them from validated ones.
    Some(ParcelKey::new(
        ShopId::from_trusted(shop),
        TrackNumber::from_trusted(track),
    ))
}

/// `shop \0 order \0`: the prefix of an order's parcels.
pub fn order_prefix(shop: &str, order: &str) -> Vec<u8> {
    let mut k = shop_prefix(shop);
    k.extend_from_slice(order.as_bytes());
    k.push(SEP);
    k
}

/// `shop \0 order \0 track`.
pub fn order(shop: &str, order: &str, track: &str) -> Vec<u8> {
    let mut k = order_prefix(shop, order);
    k.extend_from_slice(track.as_bytes());
    k
}

/// `shop \0 month`: a shop's count of new parcels in a month.
pub fn usage(shop: &str, month: &str) -> Vec<u8> {
    let mut k = shop_prefix(shop);
    k.extend_from_slice(month.as_bytes());
    k
}

/// `shop \0 day`: the marker of a shop's daily report.
pub fn report(shop: &str, day: &str) -> Vec<u8> {
    let mut k = shop_prefix(shop);
    k.extend_from_slice(day.as_bytes());
    k
}

/// A big-endian u64 value (0 when malformed).
pub fn read_u64(bytes: &[u8]) -> u64 {
    bytes.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

/// What a due entry is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DueKind {
    /// Ask the carrier.
    Poll,
    /// Remind the customer.
    Reminder,
}

impl DueKind {
    fn tag(self) -> u8 {
        match self {
            DueKind::Poll => 1,
            DueKind::Reminder => 2,
        }
    }

    fn from_tag(t: u8) -> Option<Self> {
        match t {
            1 => Some(DueKind::Poll),
            2 => Some(DueKind::Reminder),
            _ => None,
        }
    }
}

/// `time kind shop \0 track`.
pub fn due(at: Timestamp, kind: DueKind, shop: &str, track: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(9 + shop.len() + 1 + track.len());
    k.extend_from_slice(&time(at));
    k.push(kind.tag());
    k.extend_from_slice(&parcel(shop, track));
    k
}

/// A decoded due key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueKey {
    /// When.
    pub at: Timestamp,
    /// What for.
    pub kind: DueKind,
    /// The parcel.
    pub parcel: ParcelKey,
}

/// Decodes a due key.
pub fn read_due(key: &[u8]) -> Option<DueKey> {
    let at = read_time(key)?;
    let kind = DueKind::from_tag(*key.get(8)?)?;
    let parcel = split_parcel(key.get(9..)?)?;
    Some(DueKey { at, kind, parcel })
}

/// `shop \0 track \0`: the prefix of a parcel's outbox entries.
pub fn outbox_prefix(shop: &str, track: &str) -> Vec<u8> {
    let mut k = parcel(shop, track);
    k.push(SEP);
    k
}

/// The outbox key of an entry.
pub fn outbox(key: &OutboxKey) -> Vec<u8> {
    let mut k = outbox_prefix(key.shop.as_str(), key.track.as_str());
    k.extend_from_slice(&key.parcel_id.to_be_bytes());
    k.push(key.kind.tag());
    k.extend_from_slice(&key.occurrence.to_be_bytes());
    k.push(key.channel.tag());
    k
}

/// Decodes an outbox key.
pub fn read_outbox(bytes: &[u8]) -> Option<OutboxKey> {
    let tail = bytes.len().checked_sub(14)?;
    let (head, fixed) = bytes.split_at(tail);
    let head = head.strip_suffix(&[SEP])?;
    let ParcelKey { shop, track } = split_parcel(head)?;
    Some(OutboxKey {
        shop,
        track,
        parcel_id: u64::from_be_bytes(fixed[..8].try_into().ok()?),
        kind: NotificationKind::from_tag(fixed[8])?,
        occurrence: u32::from_be_bytes(fixed[9..13].try_into().ok()?),
        channel: Channel::from_tag(fixed[13])?,
    })
}

/// The queues an outbox entry can be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// Waiting, by next attempt time.
    Pending,
    /// In a sender's hand, by claim time.
    Sending,
    /// Given up, by the time of the last attempt: the dead letters.
    Dead,
    /// Sent, waiting for the provider's delivery report, by the time to ask next.
    Report,
}

impl Queue {
    fn tag(self) -> u8 {
        match self {
            Queue::Pending => b'p',
            Queue::Sending => b's',
            Queue::Dead => b'd',
            Queue::Report => b'r',
        }
    }
}

/// The queue key an entry has in its state, if any.
pub fn queue(entry: &OutboxEntry) -> Option<Vec<u8>> {
    let at_or_created = |t: Option<Timestamp>| t.unwrap_or(entry.created_at);
    let (q, at) = match entry.state {
        DeliveryState::Pending => (Queue::Pending, entry.next_attempt_at),
        DeliveryState::Sending => (Queue::Sending, at_or_created(entry.claimed_at)),
        DeliveryState::Dead => (Queue::Dead, at_or_created(entry.claimed_at)),
        DeliveryState::Sent => (Queue::Report, entry.next_report_at?),
        DeliveryState::Cancelled => return None,
    };
    let mut k = queue_prefix(entry.key.channel, q);
    k.extend_from_slice(&time(at));
    k.extend_from_slice(&outbox(&entry.key));
    Some(k)
}

/// The prefix of one channel's queue.
pub fn queue_prefix(channel: Channel, q: Queue) -> Vec<u8> {
    vec![channel.tag(), q.tag()]
}

/// Splits a queue key into its time and outbox key bytes.
pub fn read_queue(key: &[u8]) -> Option<(Timestamp, &[u8])> {
    let at = read_time(key.get(2..)?)?;
    Some((at, key.get(10..)?))
}

/// `shop \0`: the prefix of a shop's templates.
pub fn templates_prefix(shop: &str) -> Vec<u8> {
    shop_prefix(shop)
}

/// `shop \0 kind part`: one template.
pub fn template(shop: &str, kind: NotificationKind, part: Part) -> Vec<u8> {
    let mut k = shop_prefix(shop);
    k.push(kind.tag());
    k.push(part.tag());
    k
}

/// Decodes a template key into its kind and part.
pub fn read_template(key: &[u8]) -> Option<(NotificationKind, Part)> {
    let n = key.len();
    if n < 3 || key[n - 3] != SEP {
        return None;
    }
    Some((
        NotificationKind::from_tag(key[n - 2])?,
        Part::from_tag(key[n - 1])?,
    ))
}

/// `p shop \0 track \0 channel`: a parcel's opt-out of a channel.
pub fn optout_parcel(shop: &str, track: &str, channel: Channel) -> Vec<u8> {
    let mut k = vec![b'p'];
    k.extend_from_slice(&outbox_prefix(shop, track));
    k.push(channel.tag());
    k
}

/// A recipient as keys hold it: e-mail addresses in any case are one address.
fn recipient_bytes(recipient: &str) -> Vec<u8> {
    recipient.to_lowercase().into_bytes()
}

/// `s shop \0`: the prefix of a shop's recipient opt-outs.
pub fn optout_shop_prefix(shop: &str) -> Vec<u8> {
    let mut k = vec![b's'];
    k.extend_from_slice(&shop_prefix(shop));
    k
}

/// `s shop \0 channel recipient`: a recipient who asked one shop for nothing more on a channel
/// (a reply with a stop word to that shop's SMS).
pub fn optout_shop(shop: &str, channel: Channel, recipient: &str) -> Vec<u8> {
    let mut k = optout_shop_prefix(shop);
    k.push(channel.tag());
    k.extend_from_slice(&recipient_bytes(recipient));
    k
}

/// `r`: the prefix of the opt-outs from every shop that stores kept before opt-outs were per
/// shop; read only to move them ([`super::optouts`]).
pub const LEGACY_OPTOUT: u8 = b'r';

/// `r channel recipient`: a recipient who asked every shop for nothing more on a channel, as
/// stores kept it before opt-outs were per shop.
pub fn legacy_optout_recipient(channel: Channel, recipient: &str) -> Vec<u8> {
    let mut k = vec![LEGACY_OPTOUT, channel.tag()];
    k.extend_from_slice(&recipient_bytes(recipient));
    k
}

/// Decodes an `r channel recipient` key.
pub fn read_legacy_optout(key: &[u8]) -> Option<(Channel, String)> {
    let (&tag, rest) = key.strip_prefix(&[LEGACY_OPTOUT])?.split_first()?;
    Some((
        Channel::from_tag(tag)?,
        std::str::from_utf8(rest).ok()?.to_string(),
    ))
}

/// `e channel recipient \0`: the prefix of every message to a recipient on a channel.
pub fn recipient_prefix(channel: Channel, recipient: &str) -> Vec<u8> {
    let mut k = vec![b'e', channel.tag()];
    k.extend_from_slice(&recipient_bytes(recipient));
    k.push(SEP);
    k
}

/// `e channel recipient \0 shop \0`: the prefix of one shop's messages to a recipient (an
/// outbox key starts with the shop).
pub fn recipient_shop_prefix(channel: Channel, recipient: &str, shop: &str) -> Vec<u8> {
    let mut k = recipient_prefix(channel, recipient);
    k.extend_from_slice(&shop_prefix(shop));
    k
}

/// `e channel recipient \0 outbox key`: one message to a recipient.
pub fn recipient_entry(channel: Channel, recipient: &str, outbox_key: &[u8]) -> Vec<u8> {
    let mut k = recipient_prefix(channel, recipient);
    k.extend_from_slice(outbox_key);
    k
}

/// `s channel recipient \0`: the prefix of the messages sent to a recipient, oldest first.
pub fn sent_prefix(channel: Channel, recipient: &str) -> Vec<u8> {
    let mut k = vec![b's', channel.tag()];
    k.extend_from_slice(&recipient_bytes(recipient));
    k.push(SEP);
    k
}

/// `s channel recipient \0 sent at outbox key`: one message sent to a recipient. The outbox key
/// keeps two messages sent in the same millisecond apart.
pub fn recipient_sent(
    channel: Channel,
    recipient: &str,
    at: Timestamp,
    outbox_key: &[u8],
) -> Vec<u8> {
    let mut k = sent_prefix(channel, recipient);
    k.extend_from_slice(&time(at));
    k.extend_from_slice(outbox_key);
    k
}

/// The outbox key at the end of a `recipients` key (`e …` or `s …`).
pub fn read_recipient_key(key: &[u8]) -> Option<&[u8]> {
    let (&family, _) = key.split_first()?;
    let sep = 2 + key.get(2..)?.iter().position(|&b| b == SEP)?;
    let rest = key.get(sep + 1..)?;
    match family {
        b'e' => Some(rest),
        b's' => rest.get(8..),
        _ => None,
    }
}

/// `provider \0 id`: where a provider's message id points.
pub fn receipt(provider: &str, id: &str) -> Vec<u8> {
    let mut k = provider.as_bytes().to_vec();
    k.push(SEP);
    k.extend_from_slice(id.as_bytes());
    k
}

/// The first key after every key that starts with `prefix`.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0xff; prefix.len() + 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_keys_sort_by_time_and_round_trip() {
        let a = due(
            Timestamp::from_second(100).unwrap(),
            DueKind::Poll,
            "zz",
            "T1",
        );
        let b = due(
            Timestamp::from_second(200).unwrap(),
            DueKind::Poll,
            "aa",
            "T0",
        );
        assert!(a < b);
        let d = read_due(&b).unwrap();
        assert_eq!(
            (d.parcel.shop.as_str(), d.parcel.track.as_str(), d.kind),
            ("aa", "T0", DueKind::Poll)
        );
        assert_eq!(d.at.as_second(), 200);
    }

    #[test]
    fn outbox_keys_round_trip() {
        let k = OutboxKey {
            shop: crate::domain::shop::ShopId::from_trusted("acme"),
            track: crate::domain::track::TrackNumber::from_trusted("SANDBOX-DELIVERED-1"),
            parcel_id: 258,
            kind: NotificationKind::Reminder,
            occurrence: 3,
            channel: Channel::Email,
        };
        let bytes = outbox(&k);
        assert!(bytes.starts_with(&outbox_prefix("acme", "SANDBOX-DELIVERED-1")));
        assert_eq!(read_outbox(&bytes), Some(k));
        assert_eq!(read_outbox(b"short"), None);
    }

    #[test]
    fn template_keys_round_trip() {
        let k = template("acme", NotificationKind::LastReminder, Part::Html);
        assert!(k.starts_with(&templates_prefix("acme")));
        assert_eq!(
            read_template(&k),
            Some((NotificationKind::LastReminder, Part::Html))
        );
        assert_eq!(read_template(b"x"), None);
    }

    #[test]
    fn opt_out_keys_tell_channels_apart_and_ignore_case() {
        assert_ne!(
            optout_shop("acme", Channel::Email, "A@x.ru"),
            optout_shop("acme", Channel::Sms, "a@x.ru")
        );
        assert_eq!(
            optout_shop("acme", Channel::Email, "A@x.ru"),
            optout_shop("acme", Channel::Email, "a@x.ru")
        );
        assert!(optout_shop("acme", Channel::Sms, "+7").starts_with(&optout_shop_prefix("acme")));
        assert!(
            !optout_shop("acme-2", Channel::Sms, "+7").starts_with(&optout_shop_prefix("acme"))
        );
        let legacy = legacy_optout_recipient(Channel::Email, "A@x.ru");
        assert_eq!(
            read_legacy_optout(&legacy),
            Some((Channel::Email, "a@x.ru".to_string()))
        );
        assert_eq!(read_legacy_optout(b"s"), None);
    }

    #[test]
    fn recipient_keys_sort_by_time_and_lead_back_to_the_entry() {
        let k = OutboxKey {
            shop: crate::domain::shop::ShopId::from_trusted("acme"),
            track: crate::domain::track::TrackNumber::from_trusted("SANDBOX-DELIVERED-1"),
            parcel_id: 258,
            kind: NotificationKind::Arrived,
            occurrence: 1,
            channel: Channel::Sms,
        };
        let okey = outbox(&k);
        let e = recipient_entry(Channel::Sms, "+79123456789", &okey);
        assert!(e.starts_with(&recipient_shop_prefix(Channel::Sms, "+79123456789", "acme")));
        assert!(!e.starts_with(&recipient_shop_prefix(Channel::Sms, "+79123456789", "acm")));
        assert_eq!(read_recipient_key(&e), Some(okey.as_slice()));
        let t = |s| Timestamp::from_second(s).unwrap();
        let early = recipient_sent(Channel::Sms, "+79123456789", t(100), &okey);
        let late = recipient_sent(Channel::Sms, "+79123456789", t(200), b"a");
        assert!(early < late);
        assert!(early.starts_with(&sent_prefix(Channel::Sms, "+79123456789")));
        assert!(!early.starts_with(&sent_prefix(Channel::Sms, "+7912345678")));
        assert_eq!(read_recipient_key(&early), Some(okey.as_slice()));
        assert_eq!(read_recipient_key(b"x"), None);
    }

    #[test]
    fn prefix_ends() {
        assert_eq!(prefix_end(b"ab"), b"ac".to_vec());
        assert_eq!(prefix_end(&[1, 0xff]), vec![2]);
        assert!(parcel("acme", "Z") < prefix_end(&shop_prefix("acme")));
        assert!(parcel("acme-2", "A") > prefix_end(&shop_prefix("acme")));
    }
}
