//! Replies from phones: a reply that is a stop word ([`is_stop_word`]) unsubscribes the
//! customer from the shop whose message it answers ([`answered`]: the latest SMS sent to that
//! phone through the gateway the reply came through, and to the sender name it was written to
//! when the gateway says), withdrawing that shop's unsent SMS to them. Other shops keep
//! writing to the number. A stop from a number no message went to records nothing.

use super::transport::sms::{Reply, sender_name};
use crate::config::SmsSettings;
use crate::domain::notification::Channel;
use crate::domain::optout::{OptOutSource, SentSms, answered, is_stop_word};
use crate::domain::shop::ShopId;
use crate::store::{OptOutOutcome, Store, StoreError};
use jiff::Timestamp;
use std::collections::BTreeMap;

/// How many of the latest messages to a phone through a gateway a reply is weighed against.
const CANDIDATES: usize = 50;

/// What a reply did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyOutcome {
    /// Not a stop word: nothing.
    NotStop,
    /// A stop word from a number no message went to through that gateway: nothing recorded.
    NoMessage,
    /// The customer is unsubscribed from this shop's SMS.
    Stopped {
        /// The shop whose message the reply answered.
        shop: ShopId,
        /// What the opt-out did.
        outcome: OptOutOutcome,
    },
}

/// Acts on one reply that came through `gateway`.
pub async fn handle_reply(
    store: &Store,
    sms: &SmsSettings,
    gateway: &str,
    reply: &Reply,
    now: Timestamp,
) -> Result<ReplyOutcome, StoreError> {
    if !is_stop_word(&reply.text) {
        return Ok(ReplyOutcome::NotStop);
    }
    let sent = store
        .sent_through(Channel::Sms, &reply.phone, gateway, CANDIDATES)
        .await?;
    let mut own_senders: BTreeMap<ShopId, Option<String>> = BTreeMap::new();
    let mut candidates = Vec::with_capacity(sent.len());
    for e in sent {
        let Some(sent_at) = e.sent_at else { continue };
        let shop = e.key.shop;
        let own = match own_senders.get(&shop) {
            Some(s) => s.clone(),
            None => {
                let s = store
                    .shop(&shop)
                    .await?
                    .and_then(|s| s.messaging.sms_sender);
                own_senders.insert(shop.clone(), s.clone());
                s
            }
        };
        candidates.push(SentSms {
            sender: sender_name(sms, gateway, own.as_deref()),
            gateway: gateway.to_string(),
            shop,
            sent_at,
        });
    }
    let Some(to) = answered(&candidates, gateway, reply.to.as_deref()) else {
        return Ok(ReplyOutcome::NoMessage);
    };
    let outcome = store
        .opt_out_shop_recipient(
            &to.shop,
            Channel::Sms,
            &reply.phone,
            OptOutSource::SmsStop,
            now,
        )
        .await?;
    Ok(ReplyOutcome::Stopped {
        shop: to.shop.clone(),
        outcome,
    })
}
