//! Deterministic demo customers: realistic names and addresses on reserved example domains,
//! the same for a given id on every machine.

use time::{Date, Month};

use crate::customers::{CustomerProfile, NewCustomer};
use cloudhp_core::CustomerId;

const FIRST_NAMES: &[(&str, u8)] = &[
    ("Marie", 2),
    ("Jean", 1),
    ("Sophie", 2),
    ("Lucas", 1),
    ("Camille", 2),
    ("Hugo", 1),
    ("Léa", 2),
    ("Louis", 1),
    ("Chloé", 2),
    ("Gabriel", 1),
    ("Inès", 2),
    ("Arthur", 1),
    ("Zoé", 2),
    ("Raphaël", 1),
    ("Emma", 2),
    ("Noah", 1),
    ("Anaïs", 2),
    ("Mathis", 1),
    ("Hélène", 2),
    ("François", 1),
    ("Ana", 2),
    ("José", 1),
    ("Lucía", 2),
    ("Mateo", 1),
    ("Giulia", 2),
    ("Lorenzo", 1),
    ("Hannah", 2),
    ("Jürgen", 1),
    ("Søren", 1),
    ("Ingrid", 2),
    ("Łukasz", 1),
    ("Zofia", 2),
    ("Oliver", 1),
    ("Amelia", 2),
    ("Liam", 1),
    ("Olivia", 2),
    ("Yusuf", 1),
    ("Aylin", 2),
    ("Kenji", 1),
    ("Aiko", 2),
    ("Mei", 2),
    ("Wei", 1),
    ("Priya", 2),
    ("Arjun", 1),
    ("Fatou", 2),
    ("Moussa", 1),
    ("Siobhán", 2),
    ("Eoin", 1),
];

const LAST_NAMES: &[&str] = &[
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "García",
    "Fernández",
    "López",
    "Martínez",
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weiß",
    "Nielsen",
    "Jensen",
    "Kowalski",
    "Nowak",
    "Wiśniewska",
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "O'Brien",
    "Murphy",
    "Yılmaz",
    "Kaya",
    "Tanaka",
    "Suzuki",
    "Wang",
    "Chen",
    "Sharma",
    "Patel",
    "Diallo",
    "Traoré",
    "Van den Berg",
    "De Jong",
    "Nguyen",
    "Tran",
];

const DOMAINS: &[&str] = &["example.com", "example.net", "example.org"];

/// Folds a name to the letters an e-mail local part usually keeps.
fn email_part(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        let folded = match c {
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' => "a",
            'ç' | 'ć' => "c",
            'è' | 'é' | 'ê' | 'ë' | 'ę' => "e",
            'ì' | 'í' | 'î' | 'ï' | 'ı' => "i",
            'ł' => "l",
            'ñ' | 'ń' => "n",
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' | 'ø' => "o",
            'ś' | 'ş' => "s",
            'ß' => "ss",
            'ù' | 'ú' | 'û' | 'ü' => "u",
            'ý' | 'ÿ' => "y",
            'ź' | 'ż' => "z",
            c if c.is_ascii_alphanumeric() => {
                out.push(c);
                continue;
            }
            _ => continue,
        };
        out.push_str(folded);
    }
    out
}

/// The demo customer with this id. Ids spread over the name lists so neighbours differ.
pub fn demo_customer(id: CustomerId) -> NewCustomer {
    let n = id.get() as usize;
    let (first, gender) = FIRST_NAMES[(n * 7 + n / 11) % FIRST_NAMES.len()];
    let last = LAST_NAMES[(n * 13 + n / 7) % LAST_NAMES.len()];
    let domain = DOMAINS[n % DOMAINS.len()];
    let email = format!("{}.{}{}@{}", email_part(first), email_part(last), n, domain);
    let year = 1950 + (n * 31 % 55) as i32;
    let month = Month::try_from(1 + (n * 5 % 12) as u8).unwrap_or(Month::January);
    let day = 1 + (n * 3 % 28) as u8;
    NewCustomer {
        id,
        profile: CustomerProfile {
            firstname: first.to_owned(),
            lastname: last.to_owned(),
            email,
            active: true,
            gender,
            birthday: Date::from_calendar_date(year, month, day).ok(),
            newsletter: n.is_multiple_of(3),
            optin: n.is_multiple_of(4),
            default_group: 3,
        },
        // English, but for every third customer from 100 on, French (the demo shop's two
        // languages; the first ids, which examples and tests use, stay English).
        id_lang: Some(if n >= 100 && n.is_multiple_of(3) {
            2
        } else {
            1
        }),
        password_hash: format!(
            "{:032x}",
            (n as u128).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_customers_are_deterministic_and_plausible() {
        let a = demo_customer(CustomerId::new(42).unwrap());
        let b = demo_customer(CustomerId::new(42).unwrap());
        assert_eq!(a, b);
        let (a, c) = (
            a.profile,
            demo_customer(CustomerId::new(43).unwrap()).profile,
        );
        assert!(
            a.email.ends_with(".com") || a.email.ends_with(".net") || a.email.ends_with(".org")
        );
        assert!(a.email.is_ascii());
        assert!(a.email.contains("42@"));
        assert_ne!((a.firstname, a.lastname), (c.firstname, c.lastname));
    }

    #[test]
    fn emails_fold_accents() {
        assert_eq!(email_part("Łukasz"), "lukasz");
        assert_eq!(email_part("O'Brien"), "obrien");
        assert_eq!(email_part("Weiß"), "weiss");
        assert_eq!(email_part("Van den Berg"), "vandenberg");
    }
}
