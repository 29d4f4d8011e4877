//! Russian Post's single access (`rtm34`, SOAP 1.2): the `getOperationHistory` and
//! `PostalOrderEventsForMail` request envelopes, and their answers and faults read by
//! namespace URI.
//!
//! Credentials go in the body (`AuthorizationHeader` is a body element despite its name). An
//! empty `OperationHistoryData` is an empty history ("no information yet"), not a fault.

use super::xml::{self, Element};
use jiff::Timestamp;
use quick_xml::escape::escape;

/// SOAP 1.2 envelope.
pub const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
/// SOAP 1.1 envelope.
pub const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// Operation wrappers.
pub const OPER: &str = "http://russianpost.org/operationhistory";
/// Everything inside the wrappers.
pub const DATA: &str = "http://russianpost.org/operationhistory/data";
/// Cash-on-delivery money events.
pub const ESPP: &str = "http://www.russianpost.org/RTM/DataExchangeESPP/Data";

/// The content type the service wants.
pub const CONTENT_TYPE: &str = "application/soap+xml;charset=UTF-8";

/// What an answer says instead of data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// `AuthorizationFault`: login or password refused.
    Auth(String),
    /// The account's request limit is spent.
    Limit(String),
    /// `OperationHistoryFault`: this number cannot be asked about (malformed).
    Operation(String),
    /// `LanguageFault`.
    Language(String),
    /// Some other SOAP fault.
    Fault(String),
    /// Not an answer at all: not XML, or not the expected document.
    Malformed(String),
}

/// One `historyRecord`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Operation type id.
    pub oper_type: u32,
    /// Operation attribute id (0 when absent).
    pub oper_attr: u32,
    /// Type name.
    pub type_name: String,
    /// Attribute name.
    pub attr_name: String,
    /// When, converted from the record's own UTC offset.
    pub at: Timestamp,
    /// Where it happened: postal index (absent abroad).
    pub index: Option<String>,
    /// Where it happened: the office's short name.
    pub place: Option<String>,
    /// The number the parcel had at this operation.
    pub barcode: Option<String>,
    /// `ItemParameters/MailType`: the kind of item (id, name), when given.
    pub mail_type: Option<(u16, String)>,
    /// `AddressParameters/DestinationAddress/Index`: the pickup office the item is bound for
    /// (absent, or `0`, when not given).
    pub destination: Option<String>,
}

/// One `PostalOrderEvent` (cash-on-delivery money order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodEvent {
    /// Event type: 1 accepted at the office (the customer paid), 3 paid out to the shop, …
    pub event_type: u32,
    /// When.
    pub at: Timestamp,
    /// Amount, in kopecks.
    pub amount: Option<i64>,
}

fn auth_header(login: &str, password: &str) -> String {
    format!(
        "<data:AuthorizationHeader soapenv:mustUnderstand=\"1\">\
         <data:login>{}</data:login><data:password>{}</data:password>\
         </data:AuthorizationHeader>",
        escape(login),
        escape(password)
    )
}

/// The `getOperationHistory` request for `barcode` (history of the item, `MessageType` 0).
pub fn history_request(barcode: &str, language: &str, login: &str, password: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<soap:Envelope xmlns:soap=\"{SOAP12}\" xmlns:oper=\"{OPER}\" xmlns:data=\"{DATA}\" xmlns:soapenv=\"{SOAP11}\">\
<soap:Header/><soap:Body><oper:getOperationHistory>\
<data:OperationHistoryRequest><data:Barcode>{}</data:Barcode><data:MessageType>0</data:MessageType>\
<data:Language>{}</data:Language></data:OperationHistoryRequest>{}\
</oper:getOperationHistory></soap:Body></soap:Envelope>",
        escape(barcode),
        escape(language),
        auth_header(login, password)
    )
}

/// The `PostalOrderEventsForMail` request for `barcode`.
pub fn cod_request(barcode: &str, language: &str, login: &str, password: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<soap:Envelope xmlns:soap=\"{SOAP12}\" xmlns:oper=\"{OPER}\" xmlns:data=\"{DATA}\" xmlns:soapenv=\"{SOAP11}\" xmlns:data1=\"{ESPP}\">\
<soap:Header/><soap:Body><oper:PostalOrderEventsForMail>{}\
<data1:PostalOrderEventsForMailInput Barcode=\"{}\" Language=\"{}\"/>\
</oper:PostalOrderEventsForMail></soap:Body></soap:Envelope>",
        auth_header(login, password),
        escape(barcode),
        escape(language)
    )
}

fn is_limit(text: &str) -> bool {
    let t = text.to_lowercase();
    t.contains("лимит") || t.contains("limit") || t.contains("превышен")
}

/// Reads a SOAP fault (1.2 or 1.1) in `body`, if there is one.
pub fn fault(body: &Element) -> Option<WireError> {
    let f = body
        .child(Some(SOAP12), "Fault")
        .or_else(|| body.child(Some(SOAP11), "Fault"))?;
    let reason = f
        .text_at(Some(SOAP12), &["Reason", "Text"])
        .or_else(|| f.text_at(None, &["faultstring"]))
        .unwrap_or("fault")
        .to_string();
    let detail = f
        .child(Some(SOAP12), "Detail")
        .or_else(|| f.child(None, "detail"));
    let Some(detail) = detail else {
        return Some(WireError::Fault(reason));
    };
    let Some(d) = detail.children.first() else {
        return Some(WireError::Fault(reason));
    };
    let text = if d.text().is_empty() {
        reason.clone()
    } else {
        d.text().to_string()
    };
    let in_data = d.ns.as_deref() == Some(DATA);
    Some(match d.name.as_str() {
        "AuthorizationFaultReason" if in_data && is_limit(&text) => WireError::Limit(text),
        "AuthorizationFaultReason" if in_data => WireError::Auth(text),
        "OperationHistoryFaultReason" if in_data => WireError::Operation(text),
        "LanguageFaultReason" if in_data => WireError::Language(text),
        _ if is_limit(&text) => WireError::Limit(text),
        _ if text.to_lowercase().contains("авторизац") => WireError::Auth(text),
        _ => WireError::Fault(format!("{}: {text}", d.name)),
    })
}

/// The SOAP body of a document, or why there is none.
pub fn soap_body(text: &str) -> Result<Element, WireError> {
    let root = xml::parse(text).map_err(|e| WireError::Malformed(e.to_string()))?;
    let env_ns = if root.is(Some(SOAP12), "Envelope") {
        SOAP12
    } else if root.is(Some(SOAP11), "Envelope") {
        SOAP11
    } else {
        return Err(WireError::Malformed(format!(
            "the answer is not a SOAP envelope (root element {:?})",
            root.name
        )));
    };
    let mut root = root;
    let pos = root
        .children
        .iter()
        .position(|c| c.is(Some(env_ns), "Body"))
        .ok_or_else(|| WireError::Malformed("the SOAP envelope has no Body".into()))?;
    Ok(root.children.swap_remove(pos))
}

fn number(e: &Element, names: &[&str]) -> Option<u32> {
    e.text_at(Some(DATA), names)?.parse().ok()
}

fn record(r: &Element) -> Option<Record> {
    let op = r.child(Some(DATA), "OperationParameters")?;
    let at: Timestamp = op.text_at(Some(DATA), &["OperDate"])?.parse().ok()?;
    let oper_type = number(op, &["OperType", "Id"])?;
    let address = r.path(Some(DATA), &["AddressParameters", "OperationAddress"]);
    let index = address
        .and_then(|a| a.text_at(Some(DATA), &["Index"]))
        .filter(|i| *i != "0")
        .map(str::to_string);
    Some(Record {
        oper_type,
        oper_attr: number(op, &["OperAttr", "Id"]).unwrap_or(0),
        type_name: op
            .text_at(Some(DATA), &["OperType", "Name"])
            .unwrap_or_default()
            .to_string(),
        attr_name: op
            .text_at(Some(DATA), &["OperAttr", "Name"])
            .unwrap_or_default()
            .to_string(),
        at,
        index,
        place: address
            .and_then(|a| a.text_at(Some(DATA), &["Description"]))
            .map(str::to_string),
        barcode: r
            .text_at(Some(DATA), &["ItemParameters", "Barcode"])
            .map(str::to_string),
        destination: r
            .text_at(
                Some(DATA),
                &["AddressParameters", "DestinationAddress", "Index"],
            )
            .map(str::trim)
            .filter(|i| !i.is_empty() && *i != "0")
            .map(str::to_string),
        mail_type: r
            .text_at(Some(DATA), &["ItemParameters", "MailType", "Id"])
            .and_then(|id| id.trim().parse::<u16>().ok())
            .filter(|id| *id != 0)
            .map(|id| {
                let name = r
                    .text_at(Some(DATA), &["ItemParameters", "MailType", "Name"])
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                (id, name)
            }),
    })
}

/// Reads a `getOperationHistory` answer: its records in document order (possibly none).
pub fn parse_history(text: &str) -> Result<Vec<Record>, WireError> {
    let body = soap_body(text)?;
    if let Some(f) = fault(&body) {
        return Err(f);
    }
    let data = body
        .child(Some(OPER), "getOperationHistoryResponse")
        .and_then(|r| r.child(Some(DATA), "OperationHistoryData"))
        .ok_or_else(|| {
            WireError::Malformed("no getOperationHistoryResponse/OperationHistoryData".into())
        })?;
    let raw: Vec<&Element> = data.children(Some(DATA), "historyRecord").collect();
    let records: Vec<Record> = raw.iter().filter_map(|r| record(r)).collect();
    if records.len() < raw.len() {
        tracing::warn!(
            unreadable = raw.len() - records.len(),
            "Russian Post sent history records without a readable date or operation type"
        );
        if records.is_empty() {
            return Err(WireError::Malformed(
                "no history record has a readable date and operation type".into(),
            ));
        }
    }
    Ok(records)
}

/// Reads a `PostalOrderEventsForMail` answer (the output element is spelled "…ForMaiOutput").
pub fn parse_cod(text: &str) -> Result<Vec<CodEvent>, WireError> {
    let body = soap_body(text)?;
    if let Some(f) = fault(&body) {
        return Err(f);
    }
    let out = body
        .child(Some(OPER), "PostalOrderEventsForMailResponse")
        .and_then(|r| {
            r.child_any("PostalOrderEventsForMaiOutput")
                .or_else(|| r.child_any("PostalOrderEventsForMailOutput"))
        })
        .ok_or_else(|| WireError::Malformed("no PostalOrderEventsForMaiOutput".into()))?;
    Ok(out
        .children
        .iter()
        .filter(|e| e.name == "PostalOrderEvent")
        .filter_map(|e| {
            Some(CodEvent {
                event_type: e.attr("EventType")?.trim().parse().ok()?,
                at: e.attr("EventDateTime")?.trim().parse().ok()?,
                amount: e
                    .attr("SumPaymentForward")
                    .and_then(|s| s.trim().parse().ok()),
            })
        })
        .collect())
}

/// When the customer paid: the money order was accepted at the office (event 1), or, if that
/// was not reported, paid out to the shop (event 3).
pub fn cod_paid_at(events: &[CodEvent]) -> Option<Timestamp> {
    let first = |t: u32| {
        events
            .iter()
            .filter(|e| e.event_type == t)
            .map(|e| e.at)
            .min()
    };
    first(1).or_else(|| first(3))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = r#"<?xml version='1.0' encoding='UTF-8'?>
<S:Envelope xmlns:S="http://www.w3.org/2003/05/soap-envelope"><S:Body>
<ns7:getOperationHistoryResponse xmlns:ns3="http://russianpost.org/operationhistory/data" xmlns:ns7="http://russianpost.org/operationhistory">
<ns3:OperationHistoryData><ns3:historyRecord>
<ns3:AddressParameters><ns3:OperationAddress><ns3:Index>630099</ns3:Index><ns3:Description>Новосибирск 630099</ns3:Description></ns3:OperationAddress></ns3:AddressParameters>
<ns3:ItemParameters><ns3:Barcode>10100012000016</ns3:Barcode></ns3:ItemParameters>
<ns3:OperationParameters><ns3:OperType><ns3:Id>8</ns3:Id><ns3:Name>Обработка</ns3:Name></ns3:OperType>
<ns3:OperAttr><ns3:Id>2</ns3:Id><ns3:Name>Прибыло в место вручения</ns3:Name></ns3:OperAttr>
<ns3:OperDate>2025-03-08T09:12:00.000+07:00</ns3:OperDate></ns3:OperationParameters>
</ns3:historyRecord></ns3:OperationHistoryData></ns7:getOperationHistoryResponse></S:Body></S:Envelope>"#;

    #[test]
    fn reads_a_record_with_its_own_offset() {
        let r = parse_history(RECORD).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].oper_type, r[0].oper_attr), (8, 2));
        assert_eq!(
            r[0].at,
            "2025-03-08T02:12:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(r[0].index.as_deref(), Some("630099"));
        assert_eq!(r[0].place.as_deref(), Some("Новосибирск 630099"));
    }

    #[test]
    fn prefixes_do_not_matter() {
        let other = RECORD
            .replace("S:", "soap12:")
            .replace("xmlns:S=", "xmlns:soap12=")
            .replace("ns3:", "")
            .replace("xmlns:ns3=", "xmlns=");
        assert_eq!(
            parse_history(&other).unwrap(),
            parse_history(RECORD).unwrap()
        );
        // The same names in another namespace are not the history.
        let wrong = RECORD.replace("operationhistory/data", "elsewhere/data");
        assert!(matches!(
            parse_history(&wrong),
            Err(WireError::Malformed(_))
        ));
    }

    #[test]
    fn faults_are_told_apart() {
        let fault = |detail: &str, text: &str| {
            format!(
                r#"<S:Envelope xmlns:S="http://www.w3.org/2003/05/soap-envelope"><S:Body><S:Fault>
<S:Code><S:Value>S:Receiver</S:Value></S:Code><S:Reason><S:Text xml:lang="en">Error</S:Text></S:Reason>
<S:Detail><ns3:{detail} xmlns:ns3="http://russianpost.org/operationhistory/data">{text}</ns3:{detail}></S:Detail>
</S:Fault></S:Body></S:Envelope>"#
            )
        };
        assert!(matches!(
            parse_history(&fault("AuthorizationFaultReason", "Ошибка авторизации")),
            Err(WireError::Auth(_))
        ));
        assert!(matches!(
            parse_history(&fault(
                "AuthorizationFaultReason",
                "Превышен лимит количества запросов"
            )),
            Err(WireError::Limit(_))
        ));
        assert!(matches!(
            parse_history(&fault(
                "OperationHistoryFaultReason",
                "The format of the request data is invalid"
            )),
            Err(WireError::Operation(_))
        ));
        assert!(matches!(
            parse_history("<html>502</html>"),
            Err(WireError::Malformed(_))
        ));
        assert!(matches!(
            parse_history("garbage"),
            Err(WireError::Malformed(_))
        ));
    }

    #[test]
    fn requests_escape_and_carry_credentials_in_the_body() {
        let r = history_request("10100012000016", "RUS", "shop<1>", "p&w");
        assert!(r.contains("<data:login>shop&lt;1&gt;</data:login>"), "{r}");
        assert!(r.contains("<data:password>p&amp;w</data:password>"), "{r}");
        assert!(r.contains("soapenv:mustUnderstand=\"1\""));
        // It is well-formed and says what it should, read back by namespace.
        let body = soap_body(&r).unwrap();
        let req = body.path(Some(OPER), &["getOperationHistory"]).unwrap();
        assert_eq!(
            req.text_at(Some(DATA), &["OperationHistoryRequest", "Barcode"]),
            Some("10100012000016")
        );
        let c = cod_request("14102192069353", "ENG", "l", "p");
        let body = soap_body(&c).unwrap();
        let input = body
            .path(Some(OPER), &["PostalOrderEventsForMail"])
            .and_then(|e| e.child(Some(ESPP), "PostalOrderEventsForMailInput"))
            .unwrap();
        assert_eq!(input.attr("Barcode"), Some("14102192069353"));
    }

    #[test]
    fn cod_events_tell_when_the_customer_paid() {
        let doc = r#"<S:Envelope xmlns:S="http://www.w3.org/2003/05/soap-envelope"><S:Body>
<ns7:PostalOrderEventsForMailResponse xmlns:ns6="http://www.russianpost.org/RTM/DataExchangeESPP/Data" xmlns:ns7="http://russianpost.org/operationhistory">
<ns6:PostalOrderEventsForMaiOutput>
<PostalOrderEvent Number="12345" EventDateTime="2025-03-14T11:05:00.000+03:00" EventType="3" EventName="Оплата" SumPaymentForward="250000"/>
<PostalOrderEvent Number="12345" EventDateTime="2025-03-11T17:42:00.000+07:00" EventType="1" EventName="Приём" SumPaymentForward="250000"/>
</ns6:PostalOrderEventsForMaiOutput></ns7:PostalOrderEventsForMailResponse></S:Body></S:Envelope>"#;
        let e = parse_cod(doc).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(
            cod_paid_at(&e),
            Some("2025-03-11T10:42:00Z".parse().unwrap())
        );
        assert_eq!(
            cod_paid_at(&e[..1]),
            Some("2025-03-14T08:05:00Z".parse().unwrap())
        );
        assert_eq!(cod_paid_at(&[]), None);
    }
}
