//! The lottery database as the admin area reads it: counts by state and by prize, the pace of
//! the draws, the winners (searched and paged, or walked by id for the export). Read-only; the
//! counts are grouped by the database, so a state or a prize added later shows up by itself.

use std::collections::BTreeMap;

use cloudhp_core::{Customer, CustomerId, DrawBucket, DrawPace, Prize, Winner};
use sqlx::AssertSqlSafe;

use crate::lottery::customer_id;
use crate::{LotteryDb, StoreError, from_millis, on_pool};

/// The bucket sizes of the pace chart, in minutes: the smallest that keeps the campaign within
/// `MAX_BUCKETS` buckets is used.
const BUCKET_MINUTES: [u32; 14] = [
    1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 10080, 43200,
];

/// Most buckets of the pace chart.
pub const MAX_BUCKETS: i64 = 240;

const MINUTE_MS: i64 = 60_000;

#[derive(sqlx::FromRow)]
struct WinnerRow {
    customer_id: i64,
    firstname: String,
    lastname: String,
    email: String,
    prize: Option<String>,
    prize_name: Option<String>,
    requested_at: i64,
    played_at: Option<i64>,
}

impl WinnerRow {
    fn into_winner(self) -> Result<Winner, StoreError> {
        let prize = self.prize.unwrap_or_default();
        Ok(Winner {
            customer: Customer {
                id: customer_id(self.customer_id)?,
                firstname: self.firstname,
                lastname: self.lastname,
                email: self.email,
                language: None,
            },
            prize: Prize::parse(&prize)
                .ok_or_else(|| StoreError::Corrupt(format!("invalid prize name `{prize}`")))?,
            prize_name: self.prize_name,
            requested_at: from_millis(self.requested_at)?,
            played_at: from_millis(self.played_at.unwrap_or(self.requested_at))?,
        })
    }
}

const WINNER_COLUMNS: &str = "SELECT customer_id, firstname, lastname, email, prize, prize_name, requested_at, played_at \
     FROM plays";

/// The condition of a search: every word in a name or the e-mail (case-insensitive), or the
/// id itself. Its values, in order.
fn search_filter(words: &[String]) -> (String, Vec<SearchValue>) {
    let mut sql = String::from(" WHERE state = 'won'");
    let mut values = Vec::new();
    for word in words {
        let pattern = format!("%{}%", escape_like(&word.to_lowercase()));
        sql.push_str(
            " AND (LOWER(firstname) LIKE ? ESCAPE '!' OR LOWER(lastname) LIKE ? ESCAPE '!' \
             OR LOWER(email) LIKE ? ESCAPE '!'",
        );
        values.extend(std::iter::repeat_n(SearchValue::Text(pattern), 3));
        if let Ok(id) = word.parse::<u32>() {
            sql.push_str(" OR customer_id = ?");
            values.push(SearchValue::Id(i64::from(id)));
        }
        sql.push(')');
    }
    (sql, values)
}

#[derive(Clone)]
enum SearchValue {
    Text(String),
    Id(i64),
}

/// Binds the values of a search, in order.
macro_rules! bind_search {
    ($query:expr, $values:expr) => {{
        let mut query = $query;
        for value in $values {
            query = match value {
                SearchValue::Text(t) => query.bind(t.clone()),
                SearchValue::Id(n) => query.bind(*n),
            };
        }
        query
    }};
}

/// `text` with the wildcards of LIKE taken literally (escape character `!`).
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(c);
    }
    out
}

/// The bucket size for a campaign spanning `span_ms`.
fn bucket_minutes(span_ms: i64) -> u32 {
    BUCKET_MINUTES
        .into_iter()
        .find(|m| span_ms / (i64::from(*m) * MINUTE_MS) < MAX_BUCKETS)
        .unwrap_or(BUCKET_MINUTES[BUCKET_MINUTES.len() - 1])
}

impl LotteryDb {
    /// Draws by the state of their row.
    pub async fn state_counts(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        let rows: Vec<(String, i64)> = on_pool!(&self.reads, |p| {
            sqlx::query_as("SELECT state, COUNT(*) FROM plays GROUP BY state")
                .fetch_all(p)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(state, n)| (state, u64::try_from(n).unwrap_or(0)))
            .collect())
    }

    /// How often each prize was won, by prize name.
    pub async fn prizes_won(&self) -> Result<Vec<(Prize, u64)>, StoreError> {
        let rows: Vec<(String, i64)> = on_pool!(&self.reads, |p| {
            sqlx::query_as(
                "SELECT prize, COUNT(*) FROM plays WHERE state = 'won' AND prize IS NOT NULL \
                 GROUP BY prize ORDER BY prize",
            )
            .fetch_all(p)
            .await?
        });
        rows.into_iter()
            .map(|(prize, n)| {
                let prize = Prize::parse(&prize)
                    .ok_or_else(|| StoreError::Corrupt(format!("invalid prize name `{prize}`")))?;
                Ok((prize, u64::try_from(n).unwrap_or(0)))
            })
            .collect()
    }

    /// The draws that ended (a date recorded), per bucket from the first to the last: the
    /// buckets are as small as keeps them under `MAX_BUCKETS`.
    pub async fn draw_pace(&self) -> Result<DrawPace, StoreError> {
        let (first, last): (Option<i64>, Option<i64>) = on_pool!(&self.reads, |p| {
            sqlx::query_as("SELECT MIN(played_at), MAX(played_at) FROM plays")
                .fetch_one(p)
                .await?
        });
        let (Some(first), Some(last)) = (first, last) else {
            return Ok(DrawPace {
                bucket_minutes: 1,
                buckets: Vec::new(),
            });
        };
        let minutes = bucket_minutes(last - first);
        let size = i64::from(minutes) * MINUTE_MS;
        let rows: Vec<(i64, i64)> = on_pool!(&self.reads, |p| {
            sqlx::query_as(
                "SELECT played_at - (played_at % ?) AS bucket, COUNT(*) FROM plays \
                 WHERE played_at IS NOT NULL GROUP BY bucket ORDER BY bucket",
            )
            .bind(size)
            .fetch_all(p)
            .await?
        });
        let counts: BTreeMap<i64, u64> = rows
            .into_iter()
            .map(|(b, n)| (b, u64::try_from(n).unwrap_or(0)))
            .collect();
        let start = first - first % size;
        let mut buckets = Vec::new();
        let mut at = start;
        while at <= last {
            buckets.push(DrawBucket {
                start: from_millis(at)?,
                draws: counts.get(&at).copied().unwrap_or(0),
            });
            at += size;
        }
        Ok(DrawPace {
            bucket_minutes: minutes,
            buckets,
        })
    }

    /// The winners matching `words`, newest first: `limit` of them from `offset`, and how many
    /// match in all.
    pub async fn search_winners(
        &self,
        words: &[String],
        offset: u64,
        limit: u32,
    ) -> Result<(u64, Vec<Winner>), StoreError> {
        let (filter, values) = search_filter(words);
        let count_sql = format!("SELECT COUNT(*) FROM plays{filter}");
        let page_sql = format!(
            "{WINNER_COLUMNS}{filter} ORDER BY played_at DESC, customer_id DESC LIMIT ? OFFSET ?"
        );
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let (total, rows): (i64, Vec<WinnerRow>) = on_pool!(&self.reads, |p| {
            let total = bind_search!(sqlx::query_scalar(AssertSqlSafe(count_sql)), &values)
                .fetch_one(p)
                .await?;
            let rows = bind_search!(sqlx::query_as(AssertSqlSafe(page_sql)), &values)
                .bind(i64::from(limit))
                .bind(offset)
                .fetch_all(p)
                .await?;
            (total, rows)
        });
        let winners = rows
            .into_iter()
            .map(WinnerRow::into_winner)
            .collect::<Result<_, _>>()?;
        Ok((u64::try_from(total).unwrap_or(0), winners))
    }

    /// Up to `limit` winners after the customer `after`, by customer id.
    pub async fn winners_after(
        &self,
        after: Option<CustomerId>,
        limit: u32,
    ) -> Result<Vec<Winner>, StoreError> {
        let after = after.map_or(0, |id| i64::from(id.get()));
        let rows: Vec<WinnerRow> = on_pool!(&self.reads, |p| {
            sqlx::query_as(AssertSqlSafe(format!(
                "{WINNER_COLUMNS} WHERE state = 'won' AND customer_id > ? \
                 ORDER BY customer_id LIMIT ?"
            )))
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(p)
            .await?
        });
        rows.into_iter().map(WinnerRow::into_winner).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_taken_literally() {
        assert_eq!(escape_like("50%_off!"), "50!%!_off!!");
    }

    #[test]
    fn buckets_keep_the_chart_small() {
        assert_eq!(bucket_minutes(0), 1);
        assert_eq!(bucket_minutes(30 * MINUTE_MS), 1);
        assert_eq!(bucket_minutes(300 * MINUTE_MS), 2);
        // Three weeks: 21 × 24 × 60 minutes, in two-hour buckets at most 240 of them.
        let weeks = 21 * 24 * 60 * MINUTE_MS;
        assert!(weeks / (i64::from(bucket_minutes(weeks)) * MINUTE_MS) < MAX_BUCKETS);
        assert_eq!(bucket_minutes(i64::MAX / 2), 43200);
    }
}
