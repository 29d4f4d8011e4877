//! Russian Post's batch access (`fc`, SOAP 1.1) for contract accounts: `getTicket` for up to
//! 3000 numbers, `getResponseByTicket` not earlier than 15 minutes later, and the answer's
//! operations. Errors come as `<error ErrorTypeID ErrorName>` data, not as SOAP faults.
//!
//! Batch answers carry less than single access: operation type and attribute, the local time
//! without an offset (read in Moscow time, the service's own zone) and the office index, no
//! office name. The office directory fills in the address.

use super::wire::{SOAP11, WireError, fault, soap_body};
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use quick_xml::escape::escape;

/// Wrappers `ticketRequest`, `ticketResponse`, `answerByTicketRequest`, `answerByTicketResponse`.
pub const POSTSERVER: &str = "http://fclient.russianpost.org/postserver";
/// `Item`, `Operation`, per-item `Error`.
pub const FCLIENT: &str = "http://fclient.russianpost.org";

/// `ErrorTypeID` 3: authorisation failed (also used for "limit exceeded").
pub const ERROR_AUTH: u32 = 3;
/// `ErrorTypeID` 6: the answer is not ready yet.
pub const ERROR_NOT_READY: u32 = 6;
/// `ErrorTypeID` 12: nothing is known about this number (per item).
pub const ERROR_UNKNOWN_ITEM: u32 = 12;
/// `ErrorTypeID` 16: internal error of the service (the ticket is lost).
pub const ERROR_INTERNAL: u32 = 16;
/// `ErrorTypeID` 17: the answer was kept 32 hours and is gone.
pub const ERROR_EXPIRED: u32 = 17;

/// An `<error>` of the batch service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchError {
    /// `ErrorTypeID`.
    pub id: u32,
    /// `ErrorName`.
    pub name: String,
}

/// One operation of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOp {
    /// `OperTypeID`.
    pub oper_type: u32,
    /// `OperCtgID` (the attribute).
    pub oper_attr: u32,
    /// `OperName` (the type's name).
    pub name: String,
    /// `DateOper`, read in Moscow time.
    pub at: Timestamp,
    /// `IndexOper`.
    pub index: Option<String>,
}

/// One `Item` of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItem {
    /// The number.
    pub barcode: String,
    /// Its operations, or
    pub operations: Vec<BatchOp>,
    /// the error about it.
    pub error: Option<BatchError>,
}

/// What `getResponseByTicket` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchAnswer {
    /// The items.
    Ready(Vec<BatchItem>),
    /// An error instead (6: not ready yet).
    Error(BatchError),
}

fn credentials(login: &str, password: &str) -> String {
    format!(
        "<login>{}</login><password>{}</password>",
        escape(login),
        escape(password)
    )
}

/// The `getTicket` request.
pub fn ticket_request(barcodes: &[&str], language: &str, login: &str, password: &str) -> String {
    let items: String = barcodes
        .iter()
        .map(|b| format!("<fcl:Item Barcode=\"{}\"/>", escape(*b)))
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<soapenv:Envelope xmlns:soapenv=\"{SOAP11}\" xmlns:pos=\"{POSTSERVER}\" xmlns:fcl=\"{FCLIENT}\">\
<soapenv:Header/><soapenv:Body><pos:ticketRequest><request>{items}</request>{}<language>{}</language>\
</pos:ticketRequest></soapenv:Body></soapenv:Envelope>",
        credentials(login, password),
        escape(language)
    )
}

/// The `getResponseByTicket` request.
pub fn answer_request(ticket: &str, login: &str, password: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<soapenv:Envelope xmlns:soapenv=\"{SOAP11}\" xmlns:pos=\"{POSTSERVER}\">\
<soapenv:Header/><soapenv:Body><pos:answerByTicketRequest><ticket>{}</ticket>{}\
</pos:answerByTicketRequest></soapenv:Body></soapenv:Envelope>",
        escape(ticket),
        credentials(login, password)
    )
}

fn error_of(e: &super::xml::Element) -> BatchError {
    BatchError {
        id: e
            .attr("ErrorTypeID")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0),
        name: e.attr("ErrorName").unwrap_or_default().to_string(),
    }
}

/// Reads a `getTicket` answer: the ticket, or the service's error.
pub fn parse_ticket(text: &str) -> Result<Result<String, BatchError>, WireError> {
    let body = soap_body(text)?;
    if let Some(f) = fault(&body) {
        return Err(f);
    }
    let r = body
        .child(Some(POSTSERVER), "ticketResponse")
        .ok_or_else(|| WireError::Malformed("no ticketResponse".into()))?;
    if let Some(e) = r.child_any("error") {
        return Ok(Err(error_of(e)));
    }
    match r
        .child_any("value")
        .map(|v| v.text())
        .filter(|v| !v.is_empty())
    {
        Some(v) => Ok(Ok(v.to_string())),
        None => Err(WireError::Malformed(
            "the ticket answer has no value".into(),
        )),
    }
}

fn moscow() -> TimeZone {
    TimeZone::get("Europe/Moscow").unwrap_or(TimeZone::fixed(jiff::tz::offset(3)))
}

fn local_time(s: &str, tz: &TimeZone) -> Option<Timestamp> {
    let dt = DateTime::strptime("%d.%m.%Y %H:%M:%S", s.trim()).ok()?;
    dt.to_zoned(tz.clone()).ok().map(|z| z.timestamp())
}

/// Reads a `getResponseByTicket` answer.
pub fn parse_answer(text: &str) -> Result<BatchAnswer, WireError> {
    let body = soap_body(text)?;
    if let Some(f) = fault(&body) {
        return Err(f);
    }
    let r = body
        .child(Some(POSTSERVER), "answerByTicketResponse")
        .ok_or_else(|| WireError::Malformed("no answerByTicketResponse".into()))?;
    if let Some(e) = r.child_any("error") {
        return Ok(BatchAnswer::Error(error_of(e)));
    }
    let value = r
        .child_any("value")
        .ok_or_else(|| WireError::Malformed("the answer has neither value nor error".into()))?;
    let tz = moscow();
    let items = value
        .children(Some(FCLIENT), "Item")
        .map(|item| BatchItem {
            barcode: item.attr("Barcode").unwrap_or_default().trim().to_string(),
            operations: item
                .children(Some(FCLIENT), "Operation")
                .filter_map(|o| {
                    Some(BatchOp {
                        oper_type: o.attr("OperTypeID")?.trim().parse().ok()?,
                        oper_attr: o
                            .attr("OperCtgID")
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0),
                        name: o.attr("OperName").unwrap_or_default().to_string(),
                        at: local_time(o.attr("DateOper")?, &tz)?,
                        index: o
                            .attr("IndexOper")
                            .map(str::trim)
                            .filter(|i| !i.is_empty() && *i != "0")
                            .map(str::to_string),
                    })
                })
                .collect(),
            error: item.child(Some(FCLIENT), "Error").map(error_of),
        })
        .collect();
    Ok(BatchAnswer::Ready(items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_and_errors() {
        let ok = r#"<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>
<ns2:ticketResponse xmlns:ns2="http://fclient.russianpost.org/postserver"><value>20250312031500123SHOP</value></ns2:ticketResponse>
</S:Body></S:Envelope>"#;
        assert_eq!(
            parse_ticket(ok).unwrap(),
            Ok("20250312031500123SHOP".into())
        );
        let err = ok.replace(
            "<value>20250312031500123SHOP</value>",
            r#"<error ErrorTypeID="3" ErrorName="Ошибка авторизации: Превышен лимит количества запросов"/>"#,
        );
        let e = parse_ticket(&err).unwrap().unwrap_err();
        assert_eq!(e.id, ERROR_AUTH);
        assert!(e.name.contains("лимит"));
    }

    #[test]
    fn answers_in_moscow_time() {
        let doc = r#"<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>
<ns2:answerByTicketResponse xmlns:ns2="http://fclient.russianpost.org/postserver" xmlns:ns3="http://fclient.russianpost.org">
<value FileName="" DatePreparation="12.03.2025 03:31:07">
<ns3:Item Barcode="10100012000016">
<ns3:Operation OperTypeID="1" OperCtgID="1" OperName="Приём" DateOper="03.03.2025 14:20:00" IndexOper="101000"/>
<ns3:Operation OperTypeID="8" OperCtgID="2" OperName="Обработка" DateOper="08.03.2025 09:12:00" IndexOper="630099"/>
</ns3:Item>
<ns3:Item Barcode="10100012000030"><ns3:Error ErrorTypeID="12" ErrorName="Сообщение не найдено"/></ns3:Item>
</value></ns2:answerByTicketResponse></S:Body></S:Envelope>"#;
        let BatchAnswer::Ready(items) = parse_answer(doc).unwrap() else {
            panic!("ready")
        };
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].operations[1].oper_attr, 2);
        assert_eq!(
            items[0].operations[0].at,
            "2025-03-03T11:20:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            items[1].error.as_ref().map(|e| e.id),
            Some(ERROR_UNKNOWN_ITEM)
        );
        let not_ready = r#"<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>
<ns2:answerByTicketResponse xmlns:ns2="http://fclient.russianpost.org/postserver"><error ErrorTypeID="6" ErrorName="Ответ по билету ещё не готов"/></ns2:answerByTicketResponse>
</S:Body></S:Envelope>"#;
        assert!(matches!(
            parse_answer(not_ready).unwrap(),
            BatchAnswer::Error(BatchError {
                id: ERROR_NOT_READY,
                ..
            })
        ));
    }

    #[test]
    fn requests_read_back() {
        let r = ticket_request(&["10100012000016", "EE123456785RU"], "RUS", "l", "p");
        let body = soap_body(&r).unwrap();
        let req = body.child(Some(POSTSERVER), "ticketRequest").unwrap();
        let items: Vec<_> = req
            .child(None, "request")
            .unwrap()
            .children(Some(FCLIENT), "Item")
            .filter_map(|i| i.attr("Barcode"))
            .collect();
        assert_eq!(items, ["10100012000016", "EE123456785RU"]);
        assert_eq!(req.text_at(None, &["login"]), Some("l"));
        let a = answer_request("T1", "l", "p");
        let body = soap_body(&a).unwrap();
        assert_eq!(
            body.child(Some(POSTSERVER), "answerByTicketRequest")
                .and_then(|e| e.text_at(None, &["ticket"])),
            Some("T1")
        );
    }
}
