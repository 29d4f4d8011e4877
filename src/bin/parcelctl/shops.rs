//! `parcelctl shop …`: create, show, list and change shops.

use crate::table::{opt, print_json, table};
use clap::{Args, Subcommand};
use parceld::api::dto::{CreateShop, Field, PatchShop, ShopView};
use parceld::client::Client;
use parceld::domain::shop::Language;

/// How a shop's messages go out ("" removes a value).
#[derive(Args, Default)]
pub struct MessagingArgs {
    /// SMS gateway for this shop: smsru, smsc or file (default: the config's).
    #[arg(long)]
    sms_provider: Option<String>,
    /// Sender name on its SMS, as registered with the gateway.
    #[arg(long)]
    sms_sender: Option<String>,
    /// Its tracking page; {track} stands for the track number.
    #[arg(long)]
    tracking_url: Option<String>,
    /// Where customers leave a review.
    #[arg(long)]
    review_url: Option<String>,
}

/// How a shop's customers' tracking page looks ("" removes a value).
#[derive(Args, Default)]
pub struct BrandArgs {
    /// The page's accent colour, #RRGGBB.
    #[arg(long)]
    brand_color: Option<String>,
    /// Its logo on the page: an https:// URL of the image.
    #[arg(long)]
    logo_url: Option<String>,
}

/// Manage shops.
#[derive(Subcommand)]
pub enum Cmd {
    /// Create a shop and print its API token (shown once).
    Create {
        /// Shop id (a-z, 0-9, '_', '-').
        id: String,
        /// Its name as customers know it.
        #[arg(long)]
        name: String,
        /// Where reports and alerts go.
        #[arg(long)]
        report_email: Option<String>,
        /// IANA time zone (default: the daemon's).
        #[arg(long)]
        timezone: Option<String>,
        /// Phone for customers.
        #[arg(long)]
        phone: Option<String>,
        /// Message language: ru or en.
        #[arg(long)]
        language: Option<String>,
        /// How long offices keep its parcels, in days, when its contract with the post sets
        /// its own period (default: the post's rules by mail type).
        #[arg(long)]
        storage_days: Option<String>,
        #[command(flatten)]
        messaging: MessagingArgs,
    },
    /// Show a shop.
    Show {
        /// Shop id.
        id: String,
    },
    /// List shops.
    List,
    /// Change a shop.
    Set {
        /// Shop id.
        id: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New report address ("" removes it).
        #[arg(long)]
        report_email: Option<String>,
        /// New time zone.
        #[arg(long)]
        timezone: Option<String>,
        /// New phone ("" removes it).
        #[arg(long)]
        phone: Option<String>,
        /// New language: ru or en.
        #[arg(long)]
        language: Option<String>,
        /// Issue a new API token (the old one stops working).
        #[arg(long)]
        rotate_token: bool,
        /// When the morning report goes out, HH:MM in the shop's time zone ("" for the
        /// daemon's default).
        #[arg(long)]
        report_at: Option<String>,
        /// Its storage period in days ("" returns to the post's rules by mail type); deadlines
        /// of parcels waiting now are worked out again.
        #[arg(long)]
        storage_days: Option<String>,
        #[command(flatten)]
        messaging: MessagingArgs,
        #[command(flatten)]
        brand: Box<BrandArgs>,
    },
    #[command(flatten)]
    Admin(crate::plans::Cmd),
}

fn storage_days(s: &Option<String>) -> Result<Field<u16>, String> {
    match s.as_deref().map(str::trim) {
        None => Ok(Field::Absent),
        Some("") => Ok(Field::Null),
        Some(d) => d
            .parse()
            .map(Field::Value)
            .map_err(|_| format!("--storage-days takes a number of days, not {d:?}")),
    }
}

fn language(s: &Option<String>) -> Result<Option<Language>, String> {
    match s.as_deref() {
        None => Ok(None),
        Some("ru") => Ok(Some(Language::Ru)),
        Some("en") => Ok(Some(Language::En)),
        Some(other) => Err(format!("--language must be ru or en, not {other:?}")),
    }
}

/// The columns `show` and `list` print for every shop.
const SHOP_HEADER: [&str; 5] = ["ID", "NAME", "REPORT E-MAIL", "TIME ZONE", "PHONE"];

fn shop_row(s: &ShopView) -> Vec<String> {
    vec![
        s.id.clone(),
        s.name.clone(),
        opt(&s.report_email),
        s.timezone.clone(),
        opt(&s.phone),
    ]
}

/// Runs a shop command.
pub async fn run(client: &Client, cmd: &Cmd, json: bool) -> Result<(), String> {
    let e = |e: parceld::client::ClientError| e.to_string();
    match cmd {
        Cmd::Create {
            id,
            name,
            report_email,
            timezone,
            phone,
            language: lang,
            storage_days: days,
            messaging: m,
        } => {
            let r = client
                .create_shop(&CreateShop {
                    id: id.clone(),
                    name: name.clone(),
                    report_email: report_email.clone(),
                    timezone: timezone.clone(),
                    phone: phone.clone(),
                    language: language(lang)?,
                    sms_provider: m.sms_provider.clone(),
                    sms_sender: m.sms_sender.clone(),
                    tracking_url: m.tracking_url.clone(),
                    review_url: m.review_url.clone(),
                    storage_days: storage_days(days)?,
                })
                .await
                .map_err(e)?;
            if json {
                print_json(&r);
            } else {
                println!("shop {} created", r.id);
                println!("token: {}", r.token);
                println!(
                    "(the token is shown once; shops send it as 'Authorization: Bearer <token>')"
                );
            }
        }
        Cmd::Show { id } => {
            let s = client.shop(id).await.map_err(e)?;
            if json {
                print_json(&s);
            } else {
                table(&SHOP_HEADER, vec![shop_row(&s)]);
                println!();
                table(
                    &["SMS GATEWAY", "SMS SENDER", "TRACKING PAGE", "REVIEW PAGE"],
                    vec![vec![
                        s.sms_provider.unwrap_or_else(|| "(config)".into()),
                        s.sms_sender.unwrap_or_else(|| "(config)".into()),
                        opt(&s.tracking_url),
                        opt(&s.review_url),
                    ]],
                );
                println!();
                table(
                    &["PAGE COLOUR", "LOGO"],
                    vec![vec![opt(&s.brand_color), opt(&s.logo_url)]],
                );
            }
        }
        Cmd::List => {
            let shops = client.shops().await.map_err(e)?;
            if json {
                print_json(&shops);
            } else {
                table(&SHOP_HEADER, shops.iter().map(shop_row).collect());
            }
        }
        Cmd::Set {
            id,
            name,
            report_email,
            timezone,
            phone,
            language: lang,
            rotate_token,
            report_at,
            storage_days: days,
            messaging: m,
            brand,
        } => {
            let s = client
                .patch_shop(
                    id,
                    &PatchShop {
                        name: name.clone(),
                        report_email: report_email.clone(),
                        timezone: timezone.clone(),
                        phone: phone.clone(),
                        language: language(lang)?,
                        rotate_token: *rotate_token,
                        report_at: report_at.clone(),
                        sms_provider: m.sms_provider.clone(),
                        sms_sender: m.sms_sender.clone(),
                        tracking_url: m.tracking_url.clone(),
                        review_url: m.review_url.clone(),
                        storage_days: storage_days(days)?,
                        brand_color: brand.brand_color.clone(),
                        logo_url: brand.logo_url.clone(),
                    },
                )
                .await
                .map_err(e)?;
            if json {
                print_json(&s);
            } else {
                println!("shop {} updated", s.id);
                if let Some(at) = &s.report_at {
                    println!("report at {at}");
                }
                if let Some(d) = s.storage_days {
                    println!("storage period {d} days");
                }
                if let Some(c) = &s.brand_color {
                    println!("page colour {c}");
                }
                if let Some(l) = &s.logo_url {
                    println!("logo {l}");
                }
                if let Some(t) = &s.token {
                    println!("new token: {t}");
                }
            }
        }
        Cmd::Admin(c) => return crate::plans::run(client, c, json).await,
    }
    Ok(())
}
