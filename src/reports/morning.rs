//! The morning report's content: parcels by status, what arrived at the office, was collected
//! or started back since the previous day, and every parcel stuck (no carrier event for longer
//! than `rules.stuck_after`) with the customer's contacts and the last known place, so the shop
//! can call the customer and file a search claim with the carrier. Pure: built from parcels
//! handed in one at a time.

use super::stats::first_event;
use crate::domain::carrier::CarrierId;
use crate::domain::lifecycle::{self, Rules};
use crate::domain::manual;
use crate::domain::money::Kopecks;
use crate::domain::outage::{self, Stall};
use crate::domain::outlook::{self, ProbableTally};
use crate::domain::parcel::Parcel;
use crate::domain::shop::Language;
use crate::domain::status::Status;
use jiff::Timestamp;
use std::collections::{BTreeMap, HashMap};

/// One parcel as a report line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Track number.
    pub track: String,
    /// Carrier name.
    pub carrier: String,
    /// The shop's order number.
    pub order_id: Option<String>,
    /// How many parcels the order has, when more than one.
    pub order_parcels: usize,
    /// Customer's name.
    pub name: String,
    /// Customer's phone.
    pub phone: Option<String>,
    /// Customer's e-mail.
    pub email: Option<String>,
    /// Status.
    pub status: Status,
    /// The last carrier event's time.
    pub last_event_at: Option<Timestamp>,
    /// The last known place (office or the carrier's wording).
    pub last_place: String,
    /// Whole days without a carrier event.
    pub silent_days: i64,
    /// Cash on delivery.
    pub cod: Kopecks,
    /// Contents.
    pub contents: Option<String>,
    /// Storage deadline, while it waits at an office.
    pub deadline: Option<Timestamp>,
    /// The deadline and what it rests on, in the report's words, dated in the office's zone:
    /// "до 22.12.2026: 15 дней, посылка, с 2026-12-08".
    pub storage: Option<String>,
    /// No carrier event for longer than `stuck_after`.
    pub stuck: bool,
    /// Polling stopped: no carrier event for `give_up_after` (the shop can revive it).
    pub abandoned: bool,
    /// The carrier contradicts the status set by hand, in the report's words.
    pub contradiction: Option<String>,
}

/// The report.
#[derive(Debug, Clone, PartialEq)]
pub struct MorningReport {
    /// The shop's id.
    pub shop_id: String,
    /// The shop's name.
    pub shop_name: String,
    /// The shop's time zone, for dates.
    pub timezone: String,
    /// When it was built.
    pub at: Timestamp,
    /// "Since yesterday" starts here.
    pub since: Timestamp,
    /// `rules.stuck_after`, in days.
    pub stuck_after_days: u64,
    /// Every parcel by current status.
    pub by_status: BTreeMap<Status, u64>,
    /// Arrived at the office since `since`.
    pub arrived: Vec<Line>,
    /// Collected since `since`.
    pub delivered: Vec<Line>,
    /// Started back since `since`.
    pub returning: Vec<Line>,
    /// Stuck, longest silence first.
    pub stuck: Vec<Line>,
    /// Set by hand, and the carrier says otherwise.
    pub contradicted: Vec<Line>,
    /// Probably at the office though the post recorded no arrival (the customer was told).
    pub probably: Vec<Line>,
    /// How the "probably at the office" inferences of the shop's parcels came out so far.
    pub probable_outcomes: ProbableTally,
    /// Every parcel still on its way, and those that finished since `since`: the workbook.
    pub all: Vec<Line>,
    /// Return rate of the last `period_days`.
    pub return_rate: Option<f64>,
    /// Return rate of the `period_days` before.
    pub previous_return_rate: Option<f64>,
    /// The statistics period, days.
    pub period_days: u32,
    /// The shop's webhooks in trouble (disabled, failing, dead letters), one line each.
    pub webhooks: Vec<String>,
    /// Carriers stalled now, one line each ("Почта России: посылки не движутся с …"); their
    /// parcels are not listed as stuck.
    pub stalled: Vec<String>,
}

impl MorningReport {
    /// Parcels still on their way (not delivered, returned or lost).
    pub fn live(&self) -> u64 {
        self.by_status
            .iter()
            .filter(|(s, _)| !s.is_final())
            .map(|(_, n)| n)
            .sum()
    }
}

/// Builds a report from a shop's parcels.
pub struct Builder {
    report: MorningReport,
    rules: Rules,
    orders: HashMap<String, usize>,
    terms: lifecycle::ShopTerms,
    stalled: BTreeMap<CarrierId, Stall>,
    /// The carriers of the shop's live parcels.
    carriers: std::collections::BTreeSet<CarrierId>,
}

fn last_place(p: &Parcel) -> String {
    let with_office = p.events.iter().rev().find(|e| e.office.is_some());
    match (p.last_event(), with_office.and_then(|e| e.office.as_ref())) {
        (_, Some(o)) => match (&o.index, &o.address) {
            (Some(i), Some(a)) => format!("{} ({i}, {a})", o.name),
            (Some(i), None) if !o.name.contains(i.as_str()) => format!("{} ({i})", o.name),
            _ => o.name.clone(),
        },
        (Some(e), None) => e.description.clone(),
        (None, None) => String::new(),
    }
}

/// "Вручено — вручную (магазин, 07.12.2026: выдано без сканера); служба доставки: Возвращается
/// 08.12.2026", when the carrier contradicts the status set by hand.
fn contradiction(p: &Parcel, terms: &lifecycle::ShopTerms) -> Option<String> {
    let (m, against) = manual::contradictions(&p.events)?;
    let tz = &terms.timezone;
    let by = match manual::hand_of(m) {
        Some(manual::Hand::Shop) => "магазин",
        _ => "оператор",
    };
    let said: Vec<String> = against
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e.status.label_ru(),
                e.at.to_zoned(tz.clone()).strftime("%d.%m.%Y")
            )
        })
        .collect();
    Some(format!(
        "{} — вручную ({by}, {}: {}); служба доставки: {}",
        m.status.label_ru(),
        m.at.to_zoned(tz.clone()).strftime("%d.%m.%Y"),
        m.description,
        said.join(", ")
    ))
}

fn since_at(p: &Parcel, statuses: &[Status], since: Timestamp) -> bool {
    p.events
        .iter()
        .any(|e| statuses.contains(&e.status) && e.at >= since)
}

impl Builder {
    /// A builder for a report at `now` covering events since `since`.
    pub fn new(
        shop: &crate::domain::shop::Shop,
        now: Timestamp,
        since: Timestamp,
        rules: &Rules,
        period_days: u32,
    ) -> Self {
        Builder {
            report: MorningReport {
                shop_id: shop.id.as_str().to_string(),
                shop_name: shop.name.clone(),
                timezone: shop.timezone.clone(),
                at: now,
                since,
                stuck_after_days: rules.stuck_after.as_secs().div_ceil(86_400),
                by_status: BTreeMap::new(),
                arrived: Vec::new(),
                delivered: Vec::new(),
                returning: Vec::new(),
                stuck: Vec::new(),
                contradicted: Vec::new(),
                probably: Vec::new(),
                probable_outcomes: ProbableTally::default(),
                all: Vec::new(),
                return_rate: None,
                previous_return_rate: None,
                period_days,
                webhooks: Vec::new(),
                stalled: Vec::new(),
            },
            rules: rules.clone(),
            terms: lifecycle::ShopTerms::of(shop),
            orders: HashMap::new(),
            stalled: BTreeMap::new(),
            carriers: Default::default(),
        }
    }

    /// The carriers stalled now: their parcels are not flagged stuck, and the report says
    /// since when each is stalled instead. Call before adding parcels.
    pub fn stalled_carriers(&mut self, stalled: BTreeMap<CarrierId, Stall>) {
        self.stalled = stalled;
    }

    /// Adds a parcel.
    pub fn parcel(&mut self, p: &Parcel) {
        let r = &mut self.report;
        let now = r.at;
        *r.by_status.entry(p.status).or_default() += 1;
        if !p.status.is_final() {
            self.carriers.insert(outage::counted_as(p.carrier));
        }
        if let Some(o) = &p.order_id {
            *self.orders.entry(o.clone()).or_default() += 1;
        }
        let arrived = since_at(p, &[Status::ArrivedAtPickup], r.since);
        let delivered = since_at(p, &[Status::Delivered], r.since);
        let returning = first_event(p, Status::Returning)
            .or(first_event(p, Status::ReturnedToSender))
            .is_some_and(|at| at >= r.since);
        let stuck = outage::is_stuck(p, now, &self.rules, &self.stalled);
        let probably = p.outlook.probable.is_some() && p.arrival.is_none() && !p.status.is_final();
        if let (Some(prob), Some(at)) = (&p.outlook.probable, p.outlook.probable_at) {
            r.probable_outcomes.inferred += 1;
            if let Some(a) = &p.arrival {
                r.probable_outcomes.merge(&outlook::judge_probable(
                    prob,
                    at,
                    a.office.index.as_deref(),
                    p.outlook.arrival_learnt_at.unwrap_or(a.at),
                ));
            }
        }
        let finished_lately = p.status.is_final() && p.last_activity() >= r.since;
        let contradiction = contradiction(p, &self.terms);
        if !(arrived
            || delivered
            || returning
            || stuck
            || !p.status.is_final()
            || finished_lately
            || contradiction.is_some())
        {
            return;
        }
        let waiting = p.arrival.as_ref().filter(|_| p.is_waiting_for_pickup());
        let line = Line {
            track: p.track.as_str().to_string(),
            carrier: p.carrier.as_str().to_string(),
            order_id: p.order_id.clone(),
            order_parcels: 0,
            name: p.customer.name.clone(),
            phone: p.customer.phone.as_ref().map(|x| x.as_str().to_string()),
            email: p.customer.email.as_ref().map(|x| x.as_str().to_string()),
            status: p.status,
            last_event_at: p.last_event().map(|e| e.at),
            last_place: last_place(p),
            silent_days: now.duration_since(p.last_activity()).as_secs().max(0) / 86_400,
            cod: p.cod,
            contents: p.contents.clone(),
            deadline: waiting.map(|a| a.deadline.at),
            storage: waiting.map(|a| {
                let tz = lifecycle::office_zone(&a.office, &self.terms);
                format!(
                    "до {}: {}",
                    a.deadline.at.to_zoned(tz.clone()).strftime("%d.%m.%Y"),
                    a.deadline.basis.describe(&tz, Language::Ru)
                )
            }),
            stuck,
            abandoned: p.abandoned_at.is_some() && !p.status.is_final(),
            contradiction,
        };
        if arrived {
            r.arrived.push(line.clone());
        }
        if delivered {
            r.delivered.push(line.clone());
        }
        if returning {
            r.returning.push(line.clone());
        }
        if stuck {
            r.stuck.push(line.clone());
        }
        if line.contradiction.is_some() {
            r.contradicted.push(line.clone());
        }
        if probably {
            r.probably.push(line.clone());
        }
        r.all.push(line);
    }

    /// Sets the return rates shown beside each other.
    pub fn return_rates(&mut self, current: Option<f64>, previous: Option<f64>) {
        self.report.return_rate = current;
        self.report.previous_return_rate = previous;
    }

    /// The report.
    pub fn finish(mut self) -> MorningReport {
        let orders = &self.orders;
        let r = &mut self.report;
        let tz = &self.terms.timezone;
        r.stalled = self
            .stalled
            .iter()
            .filter(|(c, _)| self.carriers.contains(c))
            .map(|(c, s)| {
                format!(
                    "{}: посылки не движутся с {} ({}); застрявшими их не считаем, пока служба не заработает",
                    c.display_ru(),
                    s.since.to_zoned(tz.clone()).strftime("%d.%m.%Y %H:%M"),
                    s.reason
                )
            })
            .collect();
        for list in [
            &mut r.arrived,
            &mut r.delivered,
            &mut r.returning,
            &mut r.stuck,
            &mut r.contradicted,
            &mut r.all,
        ] {
            for l in list.iter_mut() {
                l.order_parcels = l
                    .order_id
                    .as_ref()
                    .and_then(|o| orders.get(o))
                    .copied()
                    .unwrap_or(0);
            }
        }
        r.stuck.sort_by(|a, b| {
            b.silent_days
                .cmp(&a.silent_days)
                .then_with(|| a.track.cmp(&b.track))
        });
        // Stuck first, then by status and order.
        r.all.sort_by(|a, b| {
            b.stuck
                .cmp(&a.stuck)
                .then_with(|| a.status.cmp(&b.status))
                .then_with(|| a.order_id.cmp(&b.order_id))
                .then_with(|| a.track.cmp(&b.track))
        });
        self.report
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::intake::{ParcelDraft, Upsert, upsert, validate};
    use crate::domain::parcel::{CarrierEvent, Office};
    use crate::domain::shop::ShopId;
    use std::time::Duration;

    fn t(days: f64) -> Timestamp {
        Timestamp::from_second(1_767_225_600 + (days * 86_400.0) as i64).unwrap()
    }

    pub(crate) fn parcel(track: &str, order: &str, events: &[(f64, Status)]) -> Parcel {
        let v = validate(&ParcelDraft {
            track: track.into(),
            order_id: crate::domain::intake::Patch::Set(order.into()),
            name: crate::domain::intake::Patch::Set("Иванов Иван".into()),
            phone: crate::domain::intake::Patch::Set("+79123456789".into()),
            ..ParcelDraft::default()
        })
        .unwrap();
        let Upsert::Created(p) = upsert(None, &v, &ShopId::from_trusted("acme"), 1, t(0.0), t(0.0))
        else {
            panic!()
        };
        let mut p = *p;
        for (d, s) in events {
            p.events.push(CarrierEvent {
                at: t(*d),
                status: *s,
                code: String::new(),
                description: "Сортировочный центр".into(),
                office: (*s == Status::ArrivedAtPickup).then(|| Office {
                    index: Some("630099".into()),
                    name: "Новосибирск 630099".into(),
                    ..Office::default()
                }),
                storage: None,
                presence: false,
            });
            p.status = *s;
        }
        p
    }

    #[test]
    fn parcels_probably_at_the_office_and_how_the_inference_came_out() {
        use crate::domain::inference::{Probable, Reason};
        use Status::*;
        let shop = crate::store::shops::tests::shop("acme", "h");
        let mut b = Builder::new(&shop, t(20.0), t(19.0), &Rules::default(), 30);
        let probable = |index: &str| Probable {
            office: Office {
                index: Some(index.into()),
                name: index.into(),
                ..Office::default()
            },
            since: t(18.0),
            reason: Reason::SeenThere {
                code: "8/25".into(),
                description: String::new(),
            },
        };
        let mut waiting = parcel("SANDBOX-STUCK-7", "A", &[(1.0, Accepted), (2.0, InTransit)]);
        waiting.outlook.probable = Some(probable("630099"));
        waiting.outlook.probable_at = Some(t(18.0));
        let mut confirmed = parcel(
            "SANDBOX-ARRIVED-8",
            "B",
            &[(1.0, Accepted), (19.5, ArrivedAtPickup)],
        );
        confirmed.arrival = Some(crate::domain::parcel::Arrival {
            office: probable("630099").office,
            at: t(19.5),
            deadline: crate::domain::storage::Deadline::plain(t(19.5), t(30.0)),
        });
        confirmed.outlook.probable = Some(probable("630099"));
        confirmed.outlook.probable_at = Some(t(17.5));
        confirmed.outlook.arrival_learnt_at = Some(t(19.5));
        b.parcel(&waiting);
        b.parcel(&confirmed);
        let r = b.finish();
        assert_eq!(r.probably.len(), 1);
        assert_eq!(r.probably[0].track, "SANDBOX-STUCK-7");
        let o = r.probable_outcomes;
        assert_eq!((o.inferred, o.confirmed, o.elsewhere), (2, 1, 0));
        assert_eq!(o.mean_days_earlier(), Some(2.0));
    }

    #[test]
    fn sections_and_stuck_lines() {
        use Status::*;
        let shop = crate::store::shops::tests::shop("acme", "h");
        let rules = Rules {
            stuck_after: Duration::from_secs(7 * 86_400),
            ..Rules::default()
        };
        let mut b = Builder::new(&shop, t(20.0), t(19.0), &rules, 30);
        for p in [
            parcel("SANDBOX-STUCK-1", "A", &[(1.0, Accepted), (2.0, InTransit)]),
            parcel(
                "SANDBOX-STUCK-2",
                "A",
                &[(1.0, Accepted), (10.0, InTransit)],
            ),
            parcel(
                "SANDBOX-ARRIVED-3",
                "B",
                &[(1.0, Accepted), (19.5, ArrivedAtPickup)],
            ),
            parcel(
                "SANDBOX-DELIVERED-4",
                "C",
                &[(1.0, Accepted), (19.2, Delivered)],
            ),
            parcel(
                "SANDBOX-DELIVERED-5",
                "D",
                &[(1.0, Accepted), (5.0, Delivered)],
            ),
            parcel(
                "SANDBOX-RETURNED-6",
                "E",
                &[(1.0, Accepted), (19.9, Returning)],
            ),
        ] {
            b.parcel(&p);
        }
        b.return_rates(Some(0.1), Some(0.2));
        let r = b.finish();
        assert_eq!(r.by_status[&Delivered], 2);
        assert_eq!(r.live(), 4);
        let tracks = |l: &[Line]| l.iter().map(|x| x.track.clone()).collect::<Vec<_>>();
        assert_eq!(tracks(&r.stuck), ["SANDBOX-STUCK-1", "SANDBOX-STUCK-2"]);
        assert_eq!(r.stuck[0].silent_days, 18);
        assert_eq!(r.stuck[0].order_parcels, 2, "order A has two parcels");
        assert_eq!(r.stuck[0].last_place, "Сортировочный центр");
        assert_eq!(tracks(&r.arrived), ["SANDBOX-ARRIVED-3"]);
        assert_eq!(r.arrived[0].last_place, "Новосибирск 630099");
        assert_eq!(tracks(&r.delivered), ["SANDBOX-DELIVERED-4"]);
        assert_eq!(tracks(&r.returning), ["SANDBOX-RETURNED-6"]);
        assert_eq!(r.all.len(), 5, "the parcel delivered long ago is left out");
        assert!(r.all[0].stuck && r.all[1].stuck);
    }

    #[test]
    fn a_stalled_carriers_parcels_are_not_stuck_and_the_report_says_why() {
        use Status::*;
        let shop = crate::store::shops::tests::shop("acme", "h");
        let rules = Rules {
            stuck_after: Duration::from_secs(7 * 86_400),
            ..Rules::default()
        };
        let stall = Stall {
            since: t(18.0),
            reason: "every one of 60 answers was empty".into(),
        };
        let mut b = Builder::new(&shop, t(20.0), t(19.0), &rules, 30);
        b.stalled_carriers(BTreeMap::from([
            (CarrierId::Sandbox, stall.clone()),
            (CarrierId::ChinaPost, stall),
        ]));
        b.parcel(&parcel(
            "SANDBOX-STUCK-1",
            "A",
            &[(1.0, Accepted), (2.0, InTransit)],
        ));
        let r = b.finish();
        assert!(r.stuck.is_empty());
        assert!(!r.all[0].stuck);
        assert_eq!(
            r.stalled.len(),
            1,
            "only carriers the shop has parcels with: {:?}",
            r.stalled
        );
        assert!(
            r.stalled[0].starts_with("Песочница parceld: посылки не движутся с"),
            "{:?}",
            r.stalled
        );
    }

    #[test]
    fn a_contradicted_status_set_by_hand_is_listed() {
        use Status::*;
        let shop = crate::store::shops::tests::shop("acme", "h");
        let mut p = parcel("SANDBOX-STUCK-1", "A", &[(1.0, Accepted), (2.0, Lost)]);
        let m = manual::event(manual::Hand::Shop, Delivered, "выдано", None, t(3.0)).unwrap();
        p.events.push(m);
        p.status = Delivered;
        let mut b = Builder::new(&shop, t(20.0), t(19.0), &Rules::default(), 30);
        b.parcel(&p);
        let r = b.finish();
        assert_eq!(r.contradicted.len(), 1);
        let c = r.contradicted[0].contradiction.as_deref().unwrap();
        assert!(c.starts_with("Вручено — вручную (магазин"), "{c}");
        assert!(c.contains("служба доставки: Утрачено"), "{c}");
    }
}
