//! `cloudhp customers import`: a PrestaShop customer export into the embedded table.

use crate::support::*;

const HEADER: &str = "ID;Active (0/1);Titles ID (Mr = 1, Ms = 2, else 0);Email *;Password *;\
    Birthday (yyyy-mm-dd);Last Name *;First Name *;Newsletter (0/1);Opt-in (0/1);\
    Groups (x,y,z...);Default group ID\n";

fn export(rows: impl Iterator<Item = String>) -> String {
    let mut text = HEADER.to_owned();
    for row in rows {
        text.push_str(&row);
        text.push('\n');
    }
    text
}

/// `cloudhp customers import FILE --data-dir <the sandbox's> [EXTRA…]`.
fn import_with(sandbox: &Sandbox, file: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let data_dir = sandbox.data_dir();
    let mut args = vec![
        "customers",
        "import",
        file.to_str().unwrap(),
        "--data-dir",
        data_dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run_cli(sandbox, &args)
}

fn import(sandbox: &Sandbox, file: &std::path::Path) -> std::process::Output {
    import_with(sandbox, file, &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_export_is_imported_with_its_bad_rows_reported() {
    let sandbox = Sandbox::new("");
    let file = sandbox.dir.path().join("customers.csv");
    let rows = (1..=1500u32).map(|n| match n {
        10 => "10;1;1;not-an-address;pw;;Bad;Mail;0;0;;3".to_owned(),
        20 => "20;1;1;x20;pw;1985-02-31;;Date;2;0;;3".to_owned(),
        _ => format!("{n};1;2;client{n}@example.com;pw{n};1985-02-03;Dupont{n};Amélie;1;0;3;3"),
    });
    std::fs::write(&file, export(rows)).unwrap();
    let out = import(&sandbox, &file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(3),
        "rows rejected: exit status 3\n{stdout}\n{stderr}"
    );
    assert!(stderr.contains("2 rows were not imported"), "{stderr}");
    assert!(
        stdout.contains("imported 1498 customers into ps_customer; 2 rows rejected"),
        "{stdout}"
    );
    assert!(
        stdout.contains("line 11: `not-an-address` is not an e-mail address"),
        "{stdout}"
    );
    // Every problem of a row, not only the first; the birthday column is not one.
    assert!(
        stdout.contains(
            "line 21: Last Name is required; `x20` is not an e-mail address; \
             Newsletter must be 0 or 1, not `2`"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("problems, by column or kind:"), "{stdout}");

    // Importing again adds nothing and says why, readably: the first rows, then counts.
    let out = import(&sandbox, &file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3));
    assert_says(
        &stdout,
        &[
            "imported 0 customers",
            "line 2: customer 1 exists already in the table",
            "rejected rows (the first 20):",
            "... and 1480 more rows",
            "exists       1498 rows",
        ],
    );
    assert!(stdout.lines().count() < 40, "{stdout}");

    // The imported customers are the campaign's (no demo customers are mixed in).
    let (app, links) = sandbox.spawn_linked().await;
    let json = player(&app, &links, 1234).await;
    assert_eq!(json["customer"]["email"], "client1234@example.com");
    assert_eq!(json["customer"]["firstname"], "Amélie");
    assert_eq!(
        page(&app, &links, 10).await.0,
        404,
        "a rejected row is not a customer"
    );
    assert_eq!(sandbox.customers().count().await.unwrap(), 1498);
}

#[tokio::test]
async fn a_dry_run_reports_and_writes_nothing() {
    let sandbox = Sandbox::new("");
    let file = sandbox.dir.path().join("customers.csv");
    let rows = (1..=30u32).map(|n| {
        if n == 7 {
            "7;1;1;nope;pw;;L;F;0;0;;3".to_owned()
        } else {
            format!("{n};1;1;c{n}@example.com;pw;;L;F;0;0;;3")
        }
    });
    std::fs::write(&file, export(rows)).unwrap();
    let data_dir = sandbox.data_dir();
    let out = import_with(&sandbox, &file, &["--dry-run"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("would import 29 customers"), "{stdout}");
    assert!(stdout.contains("line 8: `nope`"), "{stdout}");
    assert!(!data_dir.exists(), "a dry run creates nothing");
    // On an existing table it reads what is there, and still changes nothing.
    let out = import(&sandbox, &file);
    assert_eq!(out.status.code(), Some(3));
    let out = import_with(&sandbox, &file, &["--dry-run"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("would import 0 customers"), "{stdout}");
    assert!(stdout.contains("customer 1 exists already"), "{stdout}");
    assert_eq!(sandbox.customers().count().await.unwrap(), 29);
}

#[tokio::test]
async fn a_fatal_error_imports_nothing() {
    let sandbox = Sandbox::new("");
    let file = sandbox.dir.path().join("broken.csv");
    // Good rows, then a line that is not text: the whole file is refused.
    let mut bytes =
        export((1..=100u32).map(|n| format!("{n};1;1;c{n}@example.com;pw;;L;F;0;0;;3")))
            .into_bytes();
    bytes.extend_from_slice(b"101;1;1;\xff\xfe@example.com;pw;;L;F;0;0;;3\n");
    std::fs::write(&file, bytes).unwrap();
    let out = import(&sandbox, &file);
    assert_eq!(out.status.code(), Some(1), "a fatal error: exit status 1");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 102"), "{stderr}");
    assert!(stderr.contains("not UTF-8"), "{stderr}");
    assert!(stderr.contains("iconv -f WINDOWS-1252"), "{stderr}");
    assert_eq!(sandbox.customers().count().await.unwrap_or(0), 0);

    // A download cut short in its last row: nothing imported, the file called truncated.
    let mut text = export((1..=100u32).map(|n| format!("{n};1;1;c{n}@example.com;pw;;L;F;0;0;;3")));
    text.push_str("101;1;1;c101@exa");
    std::fs::write(&file, text).unwrap();
    let out = import(&sandbox, &file);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("looks truncated"), "{stderr}");
    assert_eq!(sandbox.customers().count().await.unwrap_or(0), 0);

    // A file that is not a PrestaShop export at all.
    std::fs::write(&file, "id,email\n1,a@b.c\n").unwrap();
    let out = import(&sandbox, &file);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("header"));
    assert_eq!(sandbox.customers().count().await.unwrap_or(0), 0);

    // Never into a shop database.
    let mut shop = std::process::Command::new(env!("CARGO_BIN_EXE_cloudhp"));
    let out = shop
        .env_clear()
        .env(
            "CLOUDHP_IDENTITY__DATABASE",
            "mysql://ro:pw@127.0.0.1:1/shop",
        )
        .args(["customers", "import", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("never writes"));
}

/// PrestaShop's import template leaves `ID` empty: the rows get the ids PrestaShop would give
/// them, the summary says which, and `up` serves them (no demo customers mixed in).
#[tokio::test]
async fn an_import_template_without_ids_is_numbered_and_served() {
    let sandbox = Sandbox::new("");
    let file = sandbox.dir.path().join("template.csv");
    let rows =
        (1..=10_000u32).map(|n| format!(";1;1;t{n}@example.com;;;Martin{n};Léa;1;0;Customer;3"));
    std::fs::write(&file, export(rows)).unwrap();
    let out = import(&sandbox, &file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("imported 10000 customers"), "{stdout}");
    assert!(
        stdout.contains("ids 1-10000 given to the 10000 rows without an ID"),
        "{stdout}"
    );
    // A second template (and a numbered row) continues after the highest id.
    std::fs::write(
        &file,
        export(
            [
                ";1;1;next@example.com;;;Next;One;0;0;;3".to_owned(),
                "20000;1;1;far@example.com;;;Far;Away;0;0;;3".to_owned(),
                ";1;1;after@example.com;;;After;Far;0;0;;3".to_owned(),
            ]
            .into_iter(),
        ),
    )
    .unwrap();
    let out = import(&sandbox, &file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("ids 20001-20002 given to the 2 rows without an ID"),
        "{stdout}"
    );

    let proc = sandbox.up();
    assert!(
        proc.banner.contains("10003 customers in ps_customer"),
        "{}",
        proc.banner
    );
    let links = sandbox.links(&format!("http://{}", proc.addr));
    let json = player(&proc, &links, 9_999).await;
    assert_eq!(json["customer"]["email"], "t9999@example.com");
    let json = player(&proc, &links, 20_002).await;
    assert_eq!(json["customer"]["email"], "after@example.com");
    assert_eq!(sandbox.customers().count().await.unwrap(), 10_003);
}

/// An import that imported nobody leaves the table empty, and `up` says so in its banner
/// instead of seeding demo customers behind it.
#[tokio::test]
async fn up_never_seeds_demo_customers_into_an_imported_table() {
    let sandbox = Sandbox::new("");
    let file = sandbox.dir.path().join("all-bad.csv");
    let rows = (1..=50u32).map(|n| format!("{n};1;1;not-an-address-{n};;;L;F;0;0;;3"));
    std::fs::write(&file, export(rows)).unwrap();
    let out = import(&sandbox, &file);
    assert_eq!(out.status.code(), Some(3));
    let proc = sandbox.up();
    assert_says(
        &proc.banner,
        &["ps_customer is EMPTY: an import ran against it"],
    );
    assert_eq!(sandbox.customers().count().await.unwrap(), 0);
    drop(proc);

    // A fresh data dir is seeded, and the banner says it.
    let fresh = Sandbox::new("");
    let proc = fresh.up();
    assert_says(
        &proc.banner,
        &["50 demo customers seeded into the empty table ps_customer"],
    );
}
