//! The post office directory: `parcelctl offices import` loads a CSV file (a bad file is
//! refused as a whole, with its bad lines named), and arrival messages give the directory's
//! street address and hours for an office the carrier names only by index and short name, or
//! the carrier's description when the directory does not have it.

use crate::carriers_support::{closed_window, poll_all, show};
use crate::fakes::russian_post::FakeRussianPost;
use crate::harness::{Daemon, parcel, wait_for};
use std::process::{Command, Output};
use std::time::Duration;

fn parcelctl(d: &Daemon, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_parcelctl"))
        .arg("--socket")
        .arg(d.path().join("run/control.sock"))
        .args(args)
        .output()
        .expect("run parcelctl")
}

#[tokio::test]
async fn arrival_messages_take_the_address_from_the_directory() {
    let rp = FakeRussianPost::start();
    rp.history_as("10100012000078", &["history_arrived.xml"], "10100012000016");
    rp.history("EE123456785RU", &["history_ems_arrived.xml"]);
    let window = closed_window();
    let d = Daemon::start_with(|c| rp.config(c, &[("window", window.as_str())])).await;
    d.create_shop("acme").await;

    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/offices.sample.csv");
    let out = parcelctl(&d, &["offices", "import", sample.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("imported 4 offices"), "{stdout}");

    let bad = d.path().join("bad.csv");
    std::fs::write(
        &bad,
        "index,address\n630099,ok\n6300,short index\n101000,\n",
    )
    .unwrap();
    let out = parcelctl(
        &d,
        &["offices", "import", bad.to_str().unwrap(), "--replace"],
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("nothing was imported"), "{all}");
    assert!(
        all.contains("six digits") && all.contains("no address"),
        "{all}"
    );

    let out = parcelctl(&d, &["offices", "show", "630099"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Новосибирск, ул. Советская, 33"),
        "the bad file changed nothing: {stdout}"
    );
    assert!(
        !parcelctl(&d, &["offices", "show", "190000"])
            .status
            .success()
    );

    d.socket
        .add_parcels(
            "acme",
            &[
                parcel("10100012000078", "A-1"),
                parcel("EE123456785RU", "A-2"),
            ],
        )
        .await
        .unwrap();
    poll_all(&d).await;
    let a = show(&d, "10100012000078").await.arrival.expect("waiting");
    assert_eq!(
        a.office.address.as_deref(),
        Some("Новосибирск, ул. Советская, 33")
    );
    assert_eq!(
        a.office.name, "Новосибирск 630099",
        "the carrier's name stays"
    );

    let sms = wait_for(Duration::from_secs(20), "both arrival SMS", async || {
        let s = d.sms();
        let find = |t: &str| {
            s.iter()
                .find(|l| l.key.contains(t) && l.key.contains("-arrived-"))
                .cloned()
        };
        Some((find("10100012000078")?, find("EE123456785RU")?))
    })
    .await;
    // The SMS links the parcel's page, which gives the directory's address.
    let link = sms.0.text.split_whitespace().last().unwrap_or_default();
    assert!(
        sms.0.text.contains("630099") && link.contains("/t/"),
        "{}",
        sms.0.text
    );
    let page = reqwest::get(link).await.unwrap().text().await.unwrap();
    assert!(page.contains("Новосибирск, ул. Советская, 33"), "{page}");
    assert!(!sms.1.text.contains("ул."), "{}", sms.1.text);
    let mail = wait_for(
        Duration::from_secs(20),
        "the EMS arrival e-mail",
        async || {
            d.mails()
                .into_iter()
                .find(|m| m.file.contains("EE123456785RU") && m.file.contains("-arrived-"))
        },
    )
    .await;
    assert!(
        mail.text.contains("Санкт-Петербург 190000"),
        "the carrier's description: {}",
        mail.text
    );
    let mail = wait_for(Duration::from_secs(20), "the arrival e-mail", async || {
        d.mails()
            .into_iter()
            .find(|m| m.file.contains("10100012000078") && m.file.contains("-arrived-"))
    })
    .await;
    assert!(
        mail.text.contains("пн–пт 08:00–20:00"),
        "opening hours: {}",
        mail.text
    );
}
