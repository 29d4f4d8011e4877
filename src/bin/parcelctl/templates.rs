//! `parcelctl template …`: a shop's message templates: list, show, set (checked by the daemon:
//! errors come with line and column), reset to the default, preview with a sample parcel.

use crate::table::{print_json, table, ts};
use clap::{Args, Subcommand};
use parceld::client::Client;
use std::path::PathBuf;

/// Which template.
#[derive(Args)]
pub struct Which {
    /// Shop id.
    shop: String,
    /// Event: accepted, arrived, reminder, last_reminder, delivered, return_started.
    event: String,
    /// Part: sms, email_subject, email_text, email_html.
    channel: String,
}

/// A template's source.
#[derive(Args)]
#[group(required = false, multiple = false)]
pub struct Source {
    /// Read the template from this file ("-" for standard input).
    #[arg(long)]
    file: Option<PathBuf>,
    /// The template itself.
    #[arg(long)]
    text: Option<String>,
}

impl Source {
    fn read(&self) -> Result<Option<String>, String> {
        match (&self.file, &self.text) {
            (Some(p), _) if p.as_os_str() == "-" => {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                    .map_err(|e| format!("cannot read standard input: {e}"))?;
                Ok(Some(s))
            }
            (Some(p), _) => std::fs::read_to_string(p)
                .map(Some)
                .map_err(|e| format!("cannot read {}: {e}", p.display())),
            (None, Some(t)) => Ok(Some(t.clone())),
            (None, None) => Ok(None),
        }
    }
}

/// Template commands.
#[derive(Subcommand)]
pub enum Cmd {
    /// List a shop's templates (its own and the defaults).
    List {
        /// Shop id.
        shop: String,
    },
    /// Print one template's source.
    Show {
        #[command(flatten)]
        which: Which,
    },
    /// Save the shop's own template (checked first).
    Set {
        #[command(flatten)]
        which: Which,
        #[command(flatten)]
        source: Source,
    },
    /// Go back to the default template.
    Reset {
        #[command(flatten)]
        which: Which,
    },
    /// Render the message with a sample parcel (the given source, or the template in use).
    Preview {
        #[command(flatten)]
        which: Which,
        #[command(flatten)]
        source: Source,
    },
}

fn segments(s: &Option<parceld::notify::render::segments::Segments>) -> String {
    s.map(|s| {
        format!(
            "{} SMS ({} characters, {})",
            s.parts,
            s.chars,
            match s.encoding {
                parceld::notify::render::segments::Encoding::Gsm7 => "GSM-7",
                parceld::notify::render::segments::Encoding::Ucs2 => "UCS-2",
            }
        )
    })
    .unwrap_or_default()
}

/// Runs a template command.
pub async fn run(client: &Client, cmd: &Cmd, json: bool) -> Result<(), String> {
    let e = |e: parceld::client::ClientError| e.to_string();
    match cmd {
        Cmd::List { shop } => {
            let list = client.templates(shop).await.map_err(e)?;
            if json {
                print_json(&list);
                return Ok(());
            }
            table(
                &["EVENT", "CHANNEL", "TEMPLATE", "SAVED"],
                list.into_iter()
                    .map(|t| {
                        vec![
                            t.event,
                            t.channel,
                            if t.custom { "own" } else { "default" }.into(),
                            ts(&t.updated_at),
                        ]
                    })
                    .collect(),
            );
        }
        Cmd::Show { which } => {
            let t = client
                .template(&which.shop, &which.event, &which.channel)
                .await
                .map_err(e)?;
            if json {
                print_json(&t);
            } else {
                println!("{}", t.template);
            }
        }
        Cmd::Set { which, source } => {
            let text = source
                .read()?
                .ok_or("give the template with --file or --text")?;
            let t = client
                .put_template(&which.shop, &which.event, &which.channel, &text)
                .await
                .map_err(e)?;
            if json {
                print_json(&t);
            } else {
                println!("saved {} {} for {}", t.event, t.channel, which.shop);
                if let Some(p) = &t.preview {
                    println!("sample: {p}");
                }
                if t.segments.is_some() {
                    println!("costs: {}", segments(&t.segments));
                }
            }
        }
        Cmd::Reset { which } => {
            let t = client
                .reset_template(&which.shop, &which.event, &which.channel)
                .await
                .map_err(e)?;
            if json {
                print_json(&t);
            } else {
                println!(
                    "{} {} of {} is the default again",
                    t.event, t.channel, which.shop
                );
            }
        }
        Cmd::Preview { which, source } => {
            let text = source.read()?;
            let p = client
                .preview_template(&which.shop, &which.event, &which.channel, text.as_deref())
                .await
                .map_err(e)?;
            if json {
                print_json(&p);
                return Ok(());
            }
            if let Some(sms) = &p.sms {
                println!("{sms}");
                println!("-- {}", segments(&p.segments));
            }
            if let Some(subject) = &p.subject {
                println!("Subject: {subject}\n");
            }
            if let Some(text) = &p.text {
                println!("{text}");
            }
        }
    }
    Ok(())
}
