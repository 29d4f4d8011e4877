//! The janitor: on start and every `retention.check_every`, erases the personal data of parcels
//! that finished longer than `retention.erase_after` ago, and finishes erasing shops whose
//! erasure a crash interrupted. The work is in [`crate::store`]; this only keeps the time.

use super::Services;
use actix::prelude::*;
use std::sync::Arc;

#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
struct Tick;

/// The janitor actor.
pub struct Janitor {
    svc: Arc<Services>,
}

impl Janitor {
    /// A janitor.
    pub fn new(svc: Arc<Services>) -> Self {
        Janitor { svc }
    }
}

impl Actor for Janitor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.notify(Tick);
    }
}

impl Supervised for Janitor {
    fn restarting(&mut self, _: &mut Self::Context) {
        tracing::warn!("Janitor restarting");
    }
}

impl Handler<Tick> for Janitor {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: Tick, _: &mut Self::Context) -> Self::Result {
        let store = self.svc.store.clone();
        let now = self.svc.clock.now();
        let after = self.svc.settings.retention.erase_after;
        Box::pin(
            async move {
                let mut shops = 0;
                for shop in store.tombstones().await? {
                    let parcels = store.finish_shop_erasure(&shop).await?;
                    tracing::info!(shop = shop.as_str(), parcels, "Finished erasing a shop");
                    shops += 1;
                }
                Ok::<_, crate::store::StoreError>((
                    shops,
                    store.erase_personal_data(now, after).await?,
                ))
            }
            .into_actor(self)
            .map(|res, act, ctx| match res {
                Ok((_, erased)) => {
                    if erased > 0 {
                        tracing::info!(
                            parcels = erased,
                            "Personal data of finished parcels erased"
                        );
                        metrics::counter!("parceld_personal_data_erased_total")
                            .increment(erased as u64);
                    }
                    ctx.notify_later(Tick, act.svc.settings.retention.check_every);
                }
                Err(e) => {
                    act.svc
                        .health
                        .store_failed(act.svc.clock.now(), e.to_string());
                    ctx.stop();
                }
            }),
        )
    }
}
