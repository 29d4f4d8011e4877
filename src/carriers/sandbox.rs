//! The sandbox carrier, like a payment API's test mode: `SANDBOX-<SCENARIO>-<n>` numbers walk a
//! scripted, realistic journey one step per poll, so the whole flow can be seen without carrier
//! credentials. Events use Russian Post's operation codes and wording.
//!
//! | scenario    | journey                                                                   |
//! |-------------|---------------------------------------------------------------------------|
//! | `DELIVERED` | accepted → sorting centre → arrived at the pickup office → handed over      |
//! | `ARRIVED`   | accepted → sorting centre → arrived at the pickup office, and it waits      |
//! | `RETURNED`  | accepted → sorting → arrived → storage expired, sent back → returned to sender |
//! | `STUCK`     | accepted → sorting centre, then nothing                                    |
//! | `LOST`      | accepted → sorting centre → lost                                           |
//! | `FAILED`    | accepted → sorting → arrived → courier attempt failed → handed over at the office |
//!
//! The step played is the number of events parceld already knows, so the journey survives
//! restarts with nothing kept in memory; each event is stamped with the time it was played.

use super::{Carrier, CarrierError, Gate, TrackQuery, TrackReport};
use crate::domain::carrier::CarrierId;
use crate::domain::parcel::{CarrierEvent, Office};
use crate::domain::status::Status;
use crate::domain::storage::{MailClass, MailType};
use crate::domain::track::{self, SandboxScenario};
use async_trait::async_trait;
use jiff::Timestamp;

/// The sandbox carrier.
pub struct Sandbox {
    clock: crate::clock::Clock,
}

impl Sandbox {
    /// A sandbox that stamps events with `clock`'s time.
    pub fn new(clock: crate::clock::Clock) -> Self {
        Sandbox { clock }
    }
}

struct Step {
    status: Status,
    code: &'static str,
    description: &'static str,
    office: fn() -> Office,
}

fn origin() -> Office {
    Office {
        index: Some("101000".into()),
        name: "Москва 101000".into(),
        address: Some("Москва, ул. Мясницкая, 26".into()),
        hours: Some("пн–пт 08:00–20:00, сб 09:00–18:00".into()),
        phone: None,
    }
}

fn sorting() -> Office {
    Office {
        index: Some("140980".into()),
        name: "Московский АСЦ Цех Посылок".into(),
        address: None,
        hours: None,
        phone: None,
    }
}

fn pickup() -> Office {
    Office {
        index: Some("630099".into()),
        name: "Новосибирск 630099".into(),
        address: Some("Новосибирск, ул. Советская, 33".into()),
        hours: Some("пн–пт 08:00–20:00, сб 09:00–18:00, вс выходной".into()),
        phone: Some("8 800 100-00-00".into()),
    }
}

const ACCEPTED: Step = Step {
    status: Status::Accepted,
    code: "1/1",
    description: "Прием. Единичный",
    office: origin,
};
const SORTING: Step = Step {
    status: Status::InTransit,
    code: "8/1",
    description: "Обработка. Покинуло место приема",
    office: sorting,
};
const ARRIVED: Step = Step {
    status: Status::ArrivedAtPickup,
    code: "8/2",
    description: "Обработка. Прибыло в место вручения",
    office: pickup,
};
const DELIVERED: Step = Step {
    status: Status::Delivered,
    code: "2/1",
    description: "Вручение. Вручение адресату",
    office: pickup,
};
const EXPIRED: Step = Step {
    status: Status::Returning,
    code: "3/1",
    description: "Возврат. Истек срок хранения",
    office: pickup,
};
const BACK_IN_TRANSIT: Step = Step {
    status: Status::InTransit,
    code: "8/1",
    description: "Обработка. Покинуло место возврата",
    office: sorting,
};
const RETURNED: Step = Step {
    status: Status::ReturnedToSender,
    code: "2/2",
    description: "Вручение. Вручение отправителю",
    office: origin,
};
const LOST: Step = Step {
    status: Status::Lost,
    code: "5/1",
    description: "Невручение. Утрачено",
    office: sorting,
};
const FAILED_ATTEMPT: Step = Step {
    status: Status::DeliveryFailed,
    code: "12/9",
    description: "Неудачная попытка вручения. Адресат не найден",
    office: pickup,
};

const FIVE_DAYS_LEFT: Step = Step {
    status: Status::Registered,
    code: "8/28",
    description: "Обработка. Истекает срок хранения (осталось 5 дней)",
    office: pickup,
};
const STORAGE_EXTENDED: Step = Step {
    status: Status::Registered,
    code: "8/23",
    description: "Обработка. Продление срока хранения",
    office: pickup,
};

fn script(s: SandboxScenario) -> &'static [Step] {
    match s {
        SandboxScenario::Delivered => &[ACCEPTED, SORTING, ARRIVED, DELIVERED],
        SandboxScenario::Arrived => &[ACCEPTED, SORTING, ARRIVED],
        SandboxScenario::Returned => &[
            ACCEPTED,
            SORTING,
            ARRIVED,
            EXPIRED,
            BACK_IN_TRANSIT,
            RETURNED,
        ],
        SandboxScenario::Stuck => &[ACCEPTED, SORTING],
        SandboxScenario::Lost => &[ACCEPTED, SORTING, LOST],
        SandboxScenario::Failed => &[ACCEPTED, SORTING, ARRIVED, FAILED_ATTEMPT, DELIVERED],
        SandboxScenario::Extended => &[
            ACCEPTED,
            SORTING,
            ARRIVED,
            FIVE_DAYS_LEFT,
            STORAGE_EXTENDED,
            DELIVERED,
        ],
    }
}

/// The event the sandbox plays for a parcel that knows `known` events, at `now`; `None` once the
/// script is over.
pub fn next_event(scenario: SandboxScenario, known: usize, now: Timestamp) -> Option<CarrierEvent> {
    let step = script(scenario).get(known)?;
    Some(CarrierEvent {
        at: now,
        status: step.status,
        code: step.code.into(),
        description: step.description.into(),
        office: Some((step.office)()),
        storage: super::russian_post::ops::storage_signal_of(step.code),
        presence: step
            .code
            .split_once('/')
            .and_then(|(t, a)| Some((t.parse().ok()?, a.parse().ok()?)))
            .is_some_and(|(t, a)| super::russian_post::ops::implies_presence(t, a)),
    })
}

/// What the sandbox says its items are: parcels (Russian Post's MailType 4).
fn parcel_type() -> MailType {
    MailType {
        class: MailClass::Parcel,
        code: 4,
        name: "Посылка".into(),
    }
}

#[async_trait]
impl Carrier for Sandbox {
    fn id(&self) -> CarrierId {
        CarrierId::Sandbox
    }

    fn max_batch(&self) -> usize {
        100
    }

    async fn track(
        &self,
        queries: &[TrackQuery],
        gate: &Gate,
    ) -> Vec<Result<TrackReport, CarrierError>> {
        // One "request" per batch, as a real carrier would be asked.
        if let Err(e) = gate.pass().await {
            return vec![Err(e); queries.len()];
        }
        let now = self.clock.now();
        queries
            .iter()
            .map(|q| {
                let scenario = track::parse(q.track.as_str())
                    .ok()
                    .and_then(|p| p.scenario)
                    .ok_or_else(|| {
                        CarrierError::Permanent(format!("{} is not a sandbox number", q.track))
                    })?;
                Ok(TrackReport {
                    events: next_event(scenario, q.known_events, now)
                        .into_iter()
                        .collect(),
                    mail_type: Some(parcel_type()),
                    ..TrackReport::default()
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lifecycle::{Rules, ShopTerms, apply_events};
    use crate::domain::notification::NotificationKind;

    fn walk(scenario: SandboxScenario) -> (Vec<Status>, Vec<NotificationKind>) {
        let mut p = crate::domain::intake::upsert(
            None,
            &crate::domain::intake::validate(&crate::domain::intake::ParcelDraft {
                track: format!("SANDBOX-{}-1", scenario.as_str()),
                ..Default::default()
            })
            .unwrap(),
            &crate::domain::shop::ShopId::from_trusted("s"),
            1,
            Timestamp::UNIX_EPOCH,
            Timestamp::UNIX_EPOCH,
        );
        let crate::domain::intake::Upsert::Created(p) = &mut p else {
            unreachable!()
        };
        let mut statuses = vec![];
        let mut kinds = vec![];
        for i in 0..10 {
            let now = Timestamp::from_second(1_741_000_000 + i * 3600).unwrap();
            let Some(e) = next_event(scenario, p.events.len(), now) else {
                break;
            };
            let o = apply_events(p, vec![e], now, &Rules::default(), &ShopTerms::default());
            statuses.push(p.status);
            kinds.extend(o.intents.iter().map(|i| i.kind));
        }
        (statuses, kinds)
    }

    #[test]
    fn every_scenario_walks_its_journey() {
        use NotificationKind as K;
        use Status as S;
        let (s, k) = walk(SandboxScenario::Delivered);
        assert_eq!(
            s,
            [S::Accepted, S::InTransit, S::ArrivedAtPickup, S::Delivered]
        );
        assert_eq!(k, [K::Accepted, K::Arrived, K::Delivered]);
        let (s, k) = walk(SandboxScenario::Returned);
        assert_eq!(s.last(), Some(&S::ReturnedToSender));
        assert_eq!(k, [K::Accepted, K::Arrived, K::ReturnStarted]);
        let (s, _) = walk(SandboxScenario::Stuck);
        assert_eq!(s.last(), Some(&S::InTransit));
        let (s, _) = walk(SandboxScenario::Lost);
        assert_eq!(s.last(), Some(&S::Lost));
        let (s, k) = walk(SandboxScenario::Failed);
        assert!(s.contains(&S::DeliveryFailed));
        assert_eq!(s.last(), Some(&S::Delivered));
        assert_eq!(k, [K::Accepted, K::Arrived, K::Delivered]);
        let (s, _) = walk(SandboxScenario::Arrived);
        assert_eq!(s.last(), Some(&S::ArrivedAtPickup));
    }
}
