//! The shop's customer table (`<prefix>customer`, PrestaShop 1.6).
//!
//! The identity role only reads it, with bound parameters and only the columns it needs. The
//! embedded (SQLite) deployment keeps a PrestaShop-shaped copy of the table, which the demo seed
//! and `cloudhp customers import` fill; a real shop database is never written to.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cloudhp_core::{Customer, CustomerId};
use sqlx::AssertSqlSafe;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use crate::{Pool, StoreError, demo::demo_customer, on_pool};

/// A PrestaShop table prefix: letters, digits and underscores only (it is spliced into SQL, so
/// nothing else is ever accepted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TablePrefix(String);

impl TablePrefix {
    pub fn parse(prefix: &str) -> Result<Self, StoreError> {
        if prefix.len() <= 32
            && prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            Ok(Self(prefix.to_owned()))
        } else {
            Err(StoreError::Invalid(format!(
                "table prefix `{prefix}` may hold only letters, digits and `_` (32 at most)"
            )))
        }
    }

    pub fn table(&self, name: &str) -> String {
        format!("{}{}", self.0, name)
    }
}

impl Default for TablePrefix {
    fn default() -> Self {
        Self("ps_".to_owned())
    }
}

impl fmt::Display for TablePrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A customer row with the flags the campaign's policy looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerRecord {
    pub customer: Customer,
    pub active: bool,
    pub is_guest: bool,
}

/// A customer to add to the embedded table (demo seed, CSV import).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCustomer {
    pub id: CustomerId,
    pub profile: CustomerProfile,
    /// PrestaShop's `id_lang` of the account (`None`: unknown, the page follows the browser).
    pub id_lang: Option<u32>,
    /// Stored as given (PrestaShop keeps an MD5-style hash here); never read by the lottery.
    pub password_hash: String,
}

impl NewCustomer {
    /// A customer of a CSV import: no language (the page follows the browser) and no usable
    /// password (PrestaShop's column gets a value no hash matches).
    pub fn imported(id: CustomerId, profile: CustomerProfile) -> Self {
        Self {
            id,
            profile,
            id_lang: None,
            password_hash: "!".into(),
        }
    }
}

/// What a customer is to the shop, but their id, language and password: the columns of a
/// CSV import and of the demo seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerProfile {
    pub firstname: String,
    pub lastname: String,
    pub email: String,
    pub active: bool,
    /// PrestaShop's `id_gender`: 1 Mr, 2 Ms, 0 unknown.
    pub gender: u8,
    pub birthday: Option<Date>,
    pub newsletter: bool,
    pub optin: bool,
    pub default_group: u32,
}

#[derive(sqlx::FromRow)]
struct CustomerRow {
    firstname: String,
    lastname: String,
    email: String,
    active: i64,
    is_guest: i64,
    id_lang: i64,
}

/// The embedded database's record of imports (see [`CustomerDb::record_import`]).
const IMPORTS_TABLE: &str = "cloudhp_customer_imports";

/// What [`CustomerDb::seed_demo`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seeding {
    /// This many demo customers went into the empty table.
    Seeded(u32),
    /// The table holds this many customers already: nothing seeded.
    Populated(u64),
    /// The table is empty but an import ran against it (and imported nothing): nothing
    /// seeded, so an import that failed is not hidden behind demo customers.
    Imported,
    /// Seeding is switched off (a count of 0).
    Off,
}

/// How long the map of PrestaShop's languages (`<prefix>lang`) is kept before it is read again.
const LANGUAGES_TTL: Duration = Duration::from_secs(300);

/// When the languages were read, and their ISO codes by `id_lang`.
type LanguageMap = (Option<Instant>, Arc<HashMap<u32, String>>);

/// PrestaShop's languages by `id_lang`: read from `<prefix>lang` when first needed and every
/// [`LANGUAGES_TTL`] after; one refresh at a time, the others reading the map they have.
#[derive(Debug, Default)]
struct Languages {
    map: std::sync::RwLock<LanguageMap>,
    refresh: tokio::sync::Mutex<()>,
}

impl CustomerRow {
    fn into_record(self, id: CustomerId, language: Option<String>) -> CustomerRecord {
        CustomerRecord {
            customer: Customer {
                id,
                firstname: self.firstname,
                lastname: self.lastname,
                email: self.email,
                language,
            },
            active: self.active != 0,
            is_guest: self.is_guest != 0,
        }
    }
}

/// Which customers the campaign mailing selects; every condition is applied in SQL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomerSelection {
    /// Id ranges, both ends included; empty: every id.
    pub ids: Vec<(CustomerId, CustomerId)>,
    /// Only customers with `newsletter = 1`.
    pub newsletter: bool,
    /// Only customers with `optin = 1` (partners' offers).
    pub optin: bool,
    /// Only customers created (`date_add`) on or after this day.
    pub created_since: Option<Date>,
}

impl CustomerSelection {
    /// The `WHERE` conditions after `id_customer > ?`, and the values they bind, in order.
    fn conditions(&self) -> (String, Vec<String>) {
        let mut sql = String::new();
        let mut values = Vec::new();
        if !self.ids.is_empty() {
            let ranges = vec!["id_customer BETWEEN ? AND ?"; self.ids.len()].join(" OR ");
            sql.push_str(&format!(" AND ({ranges})"));
            for (from, to) in &self.ids {
                values.push(from.to_string());
                values.push(to.to_string());
            }
        }
        if self.newsletter {
            sql.push_str(" AND newsletter = 1");
        }
        if self.optin {
            sql.push_str(" AND optin = 1");
        }
        if let Some(day) = self.created_since {
            sql.push_str(" AND date_add >= ?");
            values.push(format!("{day} 00:00:00"));
        }
        (sql, values)
    }
}

/// A customer as the campaign mailing reads them: every flag, deleted rows included (the
/// mailing counts them as skipped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailingCustomer {
    pub record: CustomerRecord,
    pub deleted: bool,
    /// PrestaShop's `id_lang`, the customer's language (`<prefix>lang`).
    pub id_lang: Option<u32>,
}

#[derive(sqlx::FromRow)]
struct MailingRow {
    id: i64,
    #[sqlx(flatten)]
    row: CustomerRow,
    deleted: i64,
}

/// Access to `<prefix>customer` (and `<prefix>lang`, for the customers' languages).
#[derive(Clone, Debug)]
pub struct CustomerDb {
    pool: Pool,
    prefix: TablePrefix,
    find_sql: Arc<str>,
    languages: Arc<Languages>,
}

impl CustomerDb {
    pub fn new(pool: Pool, prefix: TablePrefix) -> Self {
        // Deleted customers do not exist for the lottery: filtered here, in SQL.
        let find_sql = format!(
            "SELECT firstname, lastname, email, CAST(active AS SIGNED) AS active, \
             CAST(is_guest AS SIGNED) AS is_guest, \
             CAST(COALESCE(id_lang, 0) AS SIGNED) AS id_lang FROM {} \
             WHERE id_customer = ? AND deleted = 0",
            prefix.table("customer")
        );
        Self {
            pool,
            prefix,
            find_sql: find_sql.into(),
            languages: Arc::default(),
        }
    }

    /// The ISO code (`fr`) of PrestaShop's language `id_lang`, from `<prefix>lang`. A table
    /// that cannot be read (an account granted only the customer table) gives no language,
    /// logged once per refresh: the page then follows the browser.
    pub async fn language_code(&self, id_lang: u32) -> Option<String> {
        let fresh = |loaded: Option<Instant>| loaded.is_some_and(|t| t.elapsed() < LANGUAGES_TTL);
        let (loaded, map) = {
            let guard = self.languages.map.read().unwrap_or_else(|e| e.into_inner());
            (guard.0, guard.1.clone())
        };
        if fresh(loaded) {
            return map.get(&id_lang).cloned();
        }
        // One refresh at a time; the others use the map they have (empty at the very start:
        // they wait for the first one instead).
        let _refresh = match self.languages.refresh.try_lock() {
            Ok(guard) => guard,
            Err(_) if loaded.is_some() => return map.get(&id_lang).cloned(),
            Err(_) => self.languages.refresh.lock().await,
        };
        let current = self
            .languages
            .map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if fresh(current.0) {
            return current.1.get(&id_lang).cloned();
        }
        let codes = match self.read_languages().await {
            Ok(codes) => codes,
            Err(e) => {
                tracing::warn!(
                    table = self.prefix.table("lang"),
                    error = %e,
                    "cannot read the shop's languages: pages follow the browser's language"
                );
                HashMap::new()
            }
        };
        let codes = Arc::new(codes);
        *self
            .languages
            .map
            .write()
            .unwrap_or_else(|e| e.into_inner()) = (Some(Instant::now()), codes.clone());
        codes.get(&id_lang).cloned()
    }

    /// The ISO code of a customer's `id_lang` (0 or negative: none).
    async fn language_of(&self, id_lang: i64) -> Option<String> {
        match u32::try_from(id_lang) {
            Ok(id_lang) if id_lang > 0 => self.language_code(id_lang).await,
            _ => None,
        }
    }

    async fn read_languages(&self) -> Result<HashMap<u32, String>, StoreError> {
        let sql = format!(
            "SELECT CAST(id_lang AS SIGNED), iso_code FROM {}",
            self.prefix.table("lang")
        );
        let rows: Vec<(i64, String)> = on_pool!(&self.pool, |p| {
            sqlx::query_as(AssertSqlSafe(sql)).fetch_all(p).await?
        });
        Ok(rows
            .into_iter()
            .filter_map(|(id, code)| Some((u32::try_from(id).ok()?, code.trim().to_owned())))
            .collect())
    }

    pub fn table(&self) -> String {
        self.prefix.table("customer")
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.pool.ping().await
    }

    /// Whether the customer table can be read: it exists and the account may SELECT from it
    /// (a server that answers is not enough: a wrong table prefix or a missing grant would make
    /// every page fail while the database looks healthy).
    pub async fn check_readable(&self) -> Result<(), StoreError> {
        let sql = format!("SELECT 1 FROM {} LIMIT 1", self.table());
        on_pool!(&self.pool, |p| {
            sqlx::query(AssertSqlSafe(sql)).fetch_optional(p).await?;
        });
        Ok(())
    }

    /// The customer with this id, unless unknown or deleted.
    pub async fn find(&self, id: CustomerId) -> Result<Option<CustomerRecord>, StoreError> {
        let row: Option<CustomerRow> = on_pool!(&self.pool, |p| {
            sqlx::query_as(AssertSqlSafe(self.find_sql.clone()))
                .bind(i64::from(id.get()))
                .fetch_optional(p)
                .await?
        });
        let Some(r) = row else {
            return Ok(None);
        };
        let language = self.language_of(r.id_lang).await;
        Ok(Some(r.into_record(id, language)))
    }

    fn embedded_pool(&self) -> Result<&sqlx::SqlitePool, StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => Ok(p),
            Pool::MySql(_) => Err(StoreError::Invalid(
                "the lottery never writes to a shop database; customers can be added only to \
                 the embedded (sqlite) customer table"
                    .to_owned(),
            )),
        }
    }

    /// Creates the embedded PrestaShop-shaped table when missing (every column of PrestaShop
    /// 1.6's `ps_customer`, in SQLite types).
    pub async fn create_embedded_table(&self) -> Result<(), StoreError> {
        let pool = self.embedded_pool()?;
        self.create_table().await?;
        sqlx::query(AssertSqlSafe(format!(
            "CREATE TABLE IF NOT EXISTS {IMPORTS_TABLE} (\
             id INTEGER PRIMARY KEY AUTOINCREMENT, file TEXT NOT NULL, \
             imported_at INTEGER NOT NULL, imported INTEGER NOT NULL, \
             rejected INTEGER NOT NULL)"
        )))
        .execute(pool)
        .await?;
        Ok(())
    }

    /// Records that an import ran against the embedded table, whatever it imported: demo
    /// customers are never seeded into a table an import has touched.
    pub async fn record_import(
        &self,
        file: &str,
        imported: u64,
        rejected: u64,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let pool = self.embedded_pool()?;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO {IMPORTS_TABLE} (file, imported_at, imported, rejected) \
             VALUES (?, ?, ?, ?)"
        )))
        .bind(file)
        .bind(now.unix_timestamp())
        .bind(i64::try_from(imported).unwrap_or(i64::MAX))
        .bind(i64::try_from(rejected).unwrap_or(i64::MAX))
        .execute(pool)
        .await?;
        Ok(())
    }

    /// How many imports ran against the embedded table (0 for a shop database, which the
    /// lottery never imports into, and for a table created before imports were recorded).
    pub async fn imports(&self) -> Result<u64, StoreError> {
        let Ok(pool) = self.embedded_pool() else {
            return Ok(0);
        };
        let n: Result<i64, sqlx::Error> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {IMPORTS_TABLE}"
        )))
        .fetch_one(pool)
        .await;
        match n.map_err(StoreError::from) {
            Ok(n) => Ok(u64::try_from(n).unwrap_or(0)),
            Err(e) if e.is_missing_table() => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// The highest customer id in the table (deleted customers included), 0 when empty: the
    /// ids PrestaShop gives new customers follow it.
    pub async fn max_id(&self) -> Result<u32, StoreError> {
        let sql = format!(
            "SELECT CAST(COALESCE(MAX(id_customer), 0) AS SIGNED) FROM {}",
            self.table()
        );
        let n: i64 = on_pool!(&self.pool, |p| {
            sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(p).await?
        });
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Creates PrestaShop 1.6's `<prefix>customer` table when missing, every column, in the
    /// pool's dialect: the embedded table, or a demo shop database on MariaDB/MySQL
    /// (`cloudhp customers seed`). A real shop's table exists already and is left alone.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let t = self.table();
        match &self.pool {
            Pool::Sqlite(pool) => {
                let ddl = format!(
                    "CREATE TABLE IF NOT EXISTS {t} (
                        id_customer INTEGER PRIMARY KEY AUTOINCREMENT,
                        id_shop_group INTEGER NOT NULL DEFAULT 1,
                        id_shop INTEGER NOT NULL DEFAULT 1,
                        id_gender INTEGER NOT NULL,
                        id_default_group INTEGER NOT NULL DEFAULT 1,
                        id_lang INTEGER NULL,
                        id_risk INTEGER NOT NULL DEFAULT 1,
                        company TEXT NULL,
                        siret TEXT NULL,
                        ape TEXT NULL,
                        firstname TEXT NOT NULL,
                        lastname TEXT NOT NULL,
                        email TEXT NOT NULL,
                        passwd TEXT NOT NULL,
                        last_passwd_gen TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
                        birthday TEXT NULL,
                        newsletter INTEGER NOT NULL DEFAULT 0,
                        ip_registration_newsletter TEXT NULL,
                        newsletter_date_add TEXT NULL,
                        optin INTEGER NOT NULL DEFAULT 0,
                        website TEXT NULL,
                        outstanding_allow_amount NUMERIC NOT NULL DEFAULT 0,
                        show_public_prices INTEGER NOT NULL DEFAULT 0,
                        max_payment_days INTEGER NOT NULL DEFAULT 60,
                        secure_key TEXT NOT NULL DEFAULT '-1',
                        note TEXT NULL,
                        active INTEGER NOT NULL DEFAULT 0,
                        is_guest INTEGER NOT NULL DEFAULT 0,
                        deleted INTEGER NOT NULL DEFAULT 0,
                        date_add TEXT NOT NULL,
                        date_upd TEXT NOT NULL
                    )"
                );
                sqlx::query(AssertSqlSafe(ddl)).execute(pool).await?;
                let index = format!("CREATE INDEX IF NOT EXISTS {t}_email ON {t} (email)");
                sqlx::query(AssertSqlSafe(index)).execute(pool).await?;
                let lang = self.prefix.table("lang");
                let ddl = format!(
                    "CREATE TABLE IF NOT EXISTS {lang} (
                        id_lang INTEGER PRIMARY KEY AUTOINCREMENT,
                        name TEXT NOT NULL,
                        active INTEGER NOT NULL DEFAULT 0,
                        iso_code TEXT NOT NULL,
                        language_code TEXT NOT NULL,
                        date_format_lite TEXT NOT NULL DEFAULT 'Y-m-d',
                        date_format_full TEXT NOT NULL DEFAULT 'Y-m-d H:i:s',
                        is_rtl INTEGER NOT NULL DEFAULT 0
                    )"
                );
                sqlx::query(AssertSqlSafe(ddl)).execute(pool).await?;
                sqlx::query(AssertSqlSafe(demo_languages_sql(&lang, "OR IGNORE")))
                    .execute(pool)
                    .await?;
            }
            Pool::MySql(pool) => {
                sqlx::query(AssertSqlSafe(prestashop_customer_ddl(&t)))
                    .execute(pool)
                    .await?;
                let lang = self.prefix.table("lang");
                sqlx::query(AssertSqlSafe(prestashop_lang_ddl(&lang)))
                    .execute(pool)
                    .await?;
                sqlx::query(AssertSqlSafe(demo_languages_sql(&lang, "IGNORE")))
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Number of rows of the table (deleted ones included).
    pub async fn count(&self) -> Result<u64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM {}", self.table());
        let n: i64 = on_pool!(&self.pool, |p| {
            sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(p).await?
        });
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// How many customers a lookup would find: not deleted, and active or registered only
    /// unless `inactive` or `guests` are admitted.
    pub async fn admitted_count(&self, inactive: bool, guests: bool) -> Result<u64, StoreError> {
        let mut sql = format!("SELECT COUNT(*) FROM {} WHERE deleted = 0", self.table());
        if !inactive {
            sql.push_str(" AND active = 1");
        }
        if !guests {
            sql.push_str(" AND is_guest = 0");
        }
        let n: i64 = on_pool!(&self.pool, |p| {
            sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(p).await?
        });
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// How many rows `selection` selects (deleted ones included).
    pub async fn count_selected(&self, selection: &CustomerSelection) -> Result<u64, StoreError> {
        let (conditions, values) = selection.conditions();
        let sql = format!(
            "SELECT CAST(COUNT(*) AS SIGNED) FROM {} WHERE id_customer > ?{conditions}",
            self.table()
        );
        let n: i64 = on_pool!(&self.pool, |p| {
            let mut query = sqlx::query_scalar(AssertSqlSafe(sql)).bind(0_i64);
            for v in &values {
                query = query.bind(v);
            }
            query.fetch_one(p).await?
        });
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The next `limit` rows `selection` selects with an id above `after`, by id (deleted
    /// ones included): a page of a walk through the table that never holds it whole.
    pub async fn select_page(
        &self,
        selection: &CustomerSelection,
        after: Option<CustomerId>,
        limit: u32,
    ) -> Result<Vec<MailingCustomer>, StoreError> {
        let (conditions, values) = selection.conditions();
        let sql = format!(
            "SELECT CAST(id_customer AS SIGNED) AS id, firstname, lastname, email, \
             CAST(active AS SIGNED) AS active, CAST(is_guest AS SIGNED) AS is_guest, \
             CAST(deleted AS SIGNED) AS deleted, \
             CAST(COALESCE(id_lang, 0) AS SIGNED) AS id_lang \
             FROM {} WHERE id_customer > ?{conditions} ORDER BY id_customer LIMIT {limit}",
            self.table()
        );
        let after = after.map_or(0, |id| i64::from(id.get()));
        let rows: Vec<MailingRow> = on_pool!(&self.pool, |p| {
            let mut query = sqlx::query_as(AssertSqlSafe(sql)).bind(after);
            for v in &values {
                query = query.bind(v);
            }
            query.fetch_all(p).await?
        });
        let mut page = Vec::with_capacity(rows.len());
        for r in rows {
            let id = u32::try_from(r.id)
                .ok()
                .and_then(CustomerId::new)
                .ok_or_else(|| StoreError::Corrupt(format!("customer id {}", r.id)))?;
            let id_lang = u32::try_from(r.row.id_lang).ok().filter(|n| *n > 0);
            let language = self.language_of(r.row.id_lang).await;
            page.push(MailingCustomer {
                record: r.row.into_record(id, language),
                deleted: r.deleted != 0,
                id_lang,
            });
        }
        Ok(page)
    }

    /// Which of `ids` are in the table already (deleted customers included).
    pub async fn existing_ids(
        &self,
        ids: &[CustomerId],
    ) -> Result<std::collections::HashSet<CustomerId>, StoreError> {
        let mut found = std::collections::HashSet::new();
        for chunk in ids.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!(
                "SELECT CAST(id_customer AS SIGNED) FROM {} WHERE id_customer IN ({marks})",
                self.table()
            );
            let rows: Vec<i64> = on_pool!(&self.pool, |p| {
                let mut query = sqlx::query_scalar(AssertSqlSafe(sql));
                for id in chunk {
                    query = query.bind(i64::from(id.get()));
                }
                query.fetch_all(p).await?
            });
            found.extend(
                rows.into_iter()
                    .filter_map(|n| u32::try_from(n).ok().and_then(CustomerId::new)),
            );
        }
        Ok(found)
    }

    /// Fills an empty customer table with the demo customers 1..=`count`: the embedded table,
    /// or a demo shop database (`cloudhp customers seed`). Returns how many were added (0 when
    /// the table already holds customers: real data is never mixed with demo data).
    pub async fn seed_demo(&self, count: u32) -> Result<Seeding, StoreError> {
        if count == 0 {
            return Ok(Seeding::Off);
        }
        let present = self.count().await?;
        if present > 0 {
            return Ok(Seeding::Populated(present));
        }
        if self.imports().await? > 0 {
            return Ok(Seeding::Imported);
        }
        let customers: Vec<NewCustomer> = (1..=count)
            .filter_map(CustomerId::new)
            .map(demo_customer)
            .collect();
        self.insert_rows(&customers, OffsetDateTime::now_utc())
            .await?;
        Ok(Seeding::Seeded(count))
    }

    /// Adds customers to the embedded table in one transaction: all or none. An id that
    /// exists already fails the whole call.
    pub async fn insert_all(
        &self,
        customers: &[NewCustomer],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.embedded_pool()?;
        self.insert_rows(customers, now).await
    }

    /// Inserts rows in one transaction, in either dialect; callers decide whether this table
    /// may be written to.
    async fn insert_rows(
        &self,
        customers: &[NewCustomer],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO {} (id_customer, id_gender, id_default_group, id_lang, firstname, \
             lastname, email, passwd, birthday, newsletter, optin, secure_key, active, \
             is_guest, deleted, date_add, date_upd) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?)",
            self.table()
        );
        let sql: Arc<str> = sql.into();
        let stamp = PrimitiveDateTime::new(now.date(), now.time())
            .replace_nanosecond(0)
            .unwrap_or(PrimitiveDateTime::new(now.date(), time::Time::MIDNIGHT));
        let stamp = format!("{} {}", stamp.date(), stamp.time());
        on_pool!(&self.pool, |pool| {
            let mut tx = pool.begin().await?;
            for c in customers {
                let (p, secure_key) = (&c.profile, uuid::Uuid::new_v4().simple().to_string());
                sqlx::query(AssertSqlSafe(sql.clone()))
                    .bind(i64::from(c.id.get()))
                    .bind(i64::from(p.gender))
                    .bind(i64::from(p.default_group))
                    .bind(c.id_lang.map(i64::from))
                    .bind(&p.firstname)
                    .bind(&p.lastname)
                    .bind(&p.email)
                    .bind(&c.password_hash)
                    .bind(p.birthday.map(|d| d.to_string()))
                    .bind(i64::from(p.newsletter))
                    .bind(i64::from(p.optin))
                    .bind(secure_key)
                    .bind(i64::from(p.active))
                    .bind(&stamp)
                    .bind(&stamp)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match e {
                        sqlx::Error::Database(ref d) if d.is_unique_violation() => {
                            StoreError::Invalid(format!("customer {} exists already", c.id))
                        }
                        other => other.into(),
                    })?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Test support: marks a customer deleted, inactive or guest in the embedded table. Only
    /// with the `test-support` feature (the tests of the crates above turn it on).
    #[cfg(feature = "test-support")]
    pub async fn set_flags(
        &self,
        id: CustomerId,
        active: bool,
        is_guest: bool,
        deleted: bool,
    ) -> Result<(), StoreError> {
        let pool = self.embedded_pool()?;
        let sql = format!(
            "UPDATE {} SET active = ?, is_guest = ?, deleted = ? WHERE id_customer = ?",
            self.table()
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(i64::from(active))
            .bind(i64::from(is_guest))
            .bind(i64::from(deleted))
            .bind(i64::from(id.get()))
            .execute(pool)
            .await?;
        Ok(())
    }
}

/// PrestaShop 1.6's `ps_lang` in MySQL (`IF NOT EXISTS`: a shop's table is never touched).
pub fn prestashop_lang_ddl(table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS `{table}` (
          `id_lang` int(10) unsigned NOT NULL AUTO_INCREMENT,
          `name` varchar(32) NOT NULL,
          `active` tinyint(3) unsigned NOT NULL DEFAULT '0',
          `iso_code` char(2) NOT NULL,
          `language_code` char(5) NOT NULL,
          `date_format_lite` char(32) NOT NULL DEFAULT 'Y-m-d',
          `date_format_full` char(32) NOT NULL DEFAULT 'Y-m-d H:i:s',
          `is_rtl` tinyint(1) NOT NULL DEFAULT '0',
          PRIMARY KEY (`id_lang`)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8"
    )
}

/// The languages of the demo shop: English (1) and French (2), as a fresh PrestaShop install
/// with the French pack numbers them. Rows present already are kept (`INSERT {ignore}`).
fn demo_languages_sql(table: &str, ignore: &str) -> String {
    format!(
        "INSERT {ignore} INTO {table} (id_lang, name, active, iso_code, language_code) VALUES \
         (1, 'English (English)', 1, 'en', 'en-us'), (2, 'Français (French)', 1, 'fr', 'fr-fr')"
    )
}

/// PrestaShop 1.6's `ps_customer` in MySQL, every column and index, as PrestaShop's installer
/// creates it (`IF NOT EXISTS`: an existing shop table is never touched).
pub fn prestashop_customer_ddl(table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS `{table}` (
          `id_customer` int(10) unsigned NOT NULL AUTO_INCREMENT,
          `id_shop_group` int(11) unsigned NOT NULL DEFAULT '1',
          `id_shop` int(11) unsigned NOT NULL DEFAULT '1',
          `id_gender` int(10) unsigned NOT NULL,
          `id_default_group` int(10) unsigned NOT NULL DEFAULT '1',
          `id_lang` int(10) unsigned DEFAULT NULL,
          `id_risk` int(10) unsigned NOT NULL DEFAULT '1',
          `company` varchar(64) DEFAULT NULL,
          `siret` varchar(14) DEFAULT NULL,
          `ape` varchar(5) DEFAULT NULL,
          `firstname` varchar(32) NOT NULL,
          `lastname` varchar(32) NOT NULL,
          `email` varchar(128) NOT NULL,
          `passwd` varchar(32) NOT NULL,
          `last_passwd_gen` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
          `birthday` date DEFAULT NULL,
          `newsletter` tinyint(1) unsigned NOT NULL DEFAULT '0',
          `ip_registration_newsletter` varchar(15) DEFAULT NULL,
          `newsletter_date_add` datetime DEFAULT NULL,
          `optin` tinyint(1) unsigned NOT NULL DEFAULT '0',
          `website` varchar(128) DEFAULT NULL,
          `outstanding_allow_amount` decimal(20,6) NOT NULL DEFAULT '0.000000',
          `show_public_prices` tinyint(1) unsigned NOT NULL DEFAULT '0',
          `max_payment_days` int(10) unsigned NOT NULL DEFAULT '60',
          `secure_key` varchar(32) NOT NULL DEFAULT '-1',
          `note` text,
          `active` tinyint(1) unsigned NOT NULL DEFAULT '0',
          `is_guest` tinyint(1) NOT NULL DEFAULT '0',
          `deleted` tinyint(1) NOT NULL DEFAULT '0',
          `date_add` datetime NOT NULL,
          `date_upd` datetime NOT NULL,
          PRIMARY KEY (`id_customer`),
          KEY `customer_email` (`email`),
          KEY `customer_login` (`email`,`passwd`),
          KEY `id_customer_passwd` (`id_customer`,`passwd`),
          KEY `id_gender` (`id_gender`),
          KEY `id_shop_group` (`id_shop_group`),
          KEY `id_shop` (`id_shop`,`date_add`)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_restricted() {
        for prefix in ["ps_", "", "shop2_"] {
            assert!(TablePrefix::parse(prefix).is_ok(), "{prefix:?} is refused");
        }
        let too_long = "a".repeat(33);
        for prefix in ["ps_; DROP TABLE x; --", "ps-", too_long.as_str()] {
            assert!(
                TablePrefix::parse(prefix).is_err(),
                "{prefix:?} is accepted"
            );
        }
    }
}
