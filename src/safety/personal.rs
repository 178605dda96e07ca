//! Personal data a child may say or type, taken out before anything is stored: e-mail
//! addresses, phone numbers, street addresses, and a full name said together with an age.

use regex::Regex;

pub struct Patterns {
    email: Regex,
    phone: Regex,
    street: Regex,
    /// "my name is Emma Johnson" (redacted when an age is said too).
    introduced: Regex,
    /// "Emma Johnson, 7 years old" / "Emma Johnson aged 7".
    named_with_age: Regex,
    age: Regex,
}

impl Default for Patterns {
    fn default() -> Self {
        // Literal patterns, checked by the tests below: they compile.
        let re = |p: &str| Regex::new(p).unwrap_or_else(|e| panic!("personal-data pattern {p}: {e}"));
        Self {
            email: re(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
            phone: re(r"\+?\d[\d ().-]{5,}\d"),
            street: re(
                r"(?i)\b\d{1,5}[a-z]?\s+(?:[a-z]+\s+){1,3}(?:street|st|road|rd|avenue|ave|lane|ln|drive|dr|court|ct|boulevard|blvd|way|place|pl|close|crescent|terrace)\b\.?",
            ),
            introduced: re(r"\b((?i:my name is|my name's|i am|i'm|call me))\s+[A-Z][a-z]+\s+[A-Z][a-z]+"),
            named_with_age: re(
                r"\b[A-Z][a-z]+\s+[A-Z][a-z]+(,?\s+(?:(?i:aged?)\s+\d{1,2}|\d{1,2}\s*(?i:years?|yrs?)\s+(?i:old)))",
            ),
            age: re(r"(?i)\b\d{1,2}\s*(?:years?|yrs?)\s+old\b|\b(?:i am|i'm|aged?)\s+\d{1,2}\b"),
        }
    }
}

impl Patterns {
    pub fn redact(&self, text: &str) -> String {
        // Every pattern needs an `@` or a digit (`\d` is any Unicode digit; `is_numeric` covers
        // them all): most messages have neither, and skip six regex scans.
        if !text.contains('@') && !text.chars().any(char::is_numeric) {
            return text.to_owned();
        }
        self.redact_all(text)
    }

    fn redact_all(&self, text: &str) -> String {
        let text = self.email.replace_all(text, "[email]");
        // Seven digits or more: a phone number, not "3 parts" or "2024".
        let text = self.phone.replace_all(&text, |c: &regex::Captures<'_>| {
            let digits = c[0].chars().filter(char::is_ascii_digit).count();
            if digits >= 7 { "[phone]".to_owned() } else { c[0].to_owned() }
        });
        let text = self.street.replace_all(&text, "[address]");
        let text = self.named_with_age.replace_all(&text, "[name]$1");
        if self.age.is_match(&text) {
            self.introduced.replace_all(&text, "$1 [name]").into_owned()
        } else {
            text.into_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_data_is_replaced() {
        let p = Patterns::default();
        let cases = [
            ("write to emma.j@example.co.uk please", "write to [email] please"),
            ("call mum on 07700 900123", "call mum on [phone]"),
            ("my number is +44 (20) 7946-0958!", "my number is [phone]!"),
            ("I live at 12 Oak Tree Lane with my cat", "I live at [address] with my cat"),
            ("my name is Emma Johnson and I am 7", "my name is [name] and I am 7"),
            ("I'm Leo Martin, I'm 6 years old", "I'm [name], I'm 6 years old"),
        ];
        for (text, expected) in cases {
            assert_eq!(p.redact(text), expected, "{text}");
        }
        let kept = p.redact("Emma Johnson aged 7 loves dragons");
        assert!(!kept.contains("Emma") && !kept.contains("Johnson") && kept.contains("aged 7"), "{kept}");
    }

    #[test]
    fn story_talk_is_left_alone() {
        let p = Patterns::default();
        for text in [
            "a dragon called Sir Pip, 3 parts please",
            "my name is Emma Johnson",
            "I am 7",
            "make it 5 parts long, in the year 2024",
            "a robot called Bolt on the moon",
            "Captain Hook and Peter Pan, 8 scenes",
        ] {
            assert_eq!(p.redact(text), text);
        }
    }

    proptest::proptest! {
        /// The shortcut for text with no `@` and no digit answers what the patterns would.
        #[test]
        fn the_shortcut_changes_nothing(text in "[A-Za-z٣३ .,'@0-9]{0,60}", words in "(my name is|I am|aged|years old|Lane|[A-Z][a-z]{2,6}| ){0,8}") {
            let p = Patterns::default();
            for text in [text.clone(), words.clone(), format!("{words} {text}")] {
                proptest::prop_assert_eq!(p.redact(&text), p.redact_all(&text));
            }
        }
    }
}
