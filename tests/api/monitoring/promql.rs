//! Just enough PromQL to find what an expression reads: each vector selector's metric name
//! and its `label="value"` matchers. Functions, aggregations and their `by (...)` lists,
//! range and subquery brackets, numbers, durations, strings and Grafana variables are skipped.

/// A series selector: `name{label="value", ...}` (only exact-match matchers are kept).
#[derive(Debug, PartialEq, Eq)]
pub struct Selector {
    pub name: String,
    pub equals: Vec<(String, String)>,
}

#[derive(Debug, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Punct(char),
    /// A matcher or comparison operator (`=`, `!=`, `=~`, `!~`, `==`, ...).
    Op(String),
    /// Numbers, durations and Grafana variables: never a metric.
    Other,
}

const AGGREGATIONS: [&str; 14] = [
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
];
/// Words followed by a label list in parentheses.
const LABEL_LISTS: [&str; 6] = ["by", "without", "on", "ignoring", "group_left", "group_right"];
const KEYWORDS: [&str; 7] = ["and", "or", "unless", "bool", "offset", "inf", "nan"];

fn tokens(expr: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '"' || c == '\'' || c == '`' {
            let mut text = String::new();
            i += 1;
            loop {
                let Some(&d) = chars.get(i) else { return Err(format!("unterminated string in {expr}")) };
                i += 1;
                match d {
                    _ if d == c => break,
                    '\\' if c != '`' => {
                        let escaped = chars.get(i).copied().ok_or("dangling escape")?;
                        text.push(if escaped == 'n' { '\n' } else { escaped });
                        i += 1;
                    }
                    _ => text.push(d),
                }
            }
            out.push(Token::Str(text));
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':') {
                i += 1;
            }
            out.push(Token::Ident(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit() || c == '.' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            out.push(Token::Other);
        } else if c == '$' {
            // `$var`, `${var}` or `$__rate_interval`.
            i += 1;
            if chars.get(i) == Some(&'{') {
                while i < chars.len() && chars[i] != '}' {
                    i += 1;
                }
                i += 1;
            } else {
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
            out.push(Token::Other);
        } else if "=!<>~".contains(c) {
            let start = i;
            while i < chars.len() && "=!<>~".contains(chars[i]) {
                i += 1;
            }
            out.push(Token::Op(chars[start..i].iter().collect()));
        } else if "(){}[],+-*/%^@".contains(c) {
            out.push(Token::Punct(c));
            i += 1;
        } else {
            return Err(format!("unexpected {c:?} in {expr}"));
        }
    }
    Ok(out)
}

/// Index just past the bracket that closes the one at `open`.
fn skip_group(tokens: &[Token], open: usize, (left, right): (char, char)) -> Result<usize, String> {
    let mut depth = 0;
    for (i, token) in tokens.iter().enumerate().skip(open) {
        match token {
            Token::Punct(c) if *c == left => depth += 1,
            Token::Punct(c) if *c == right => {
                depth -= 1;
                if depth == 0 {
                    return Ok(i + 1);
                }
            }
            _ => {}
        }
    }
    Err(format!("unbalanced {left}{right}"))
}

/// `{a="b", c=~"d"}` starting at `open`: the exact matchers, and the index past `}`.
fn matchers(tokens: &[Token], open: usize) -> Result<(Vec<(String, String)>, usize), String> {
    let mut equals = Vec::new();
    let mut i = open + 1;
    loop {
        match (tokens.get(i), tokens.get(i + 1), tokens.get(i + 2)) {
            (Some(Token::Punct('}')), ..) => return Ok((equals, i + 1)),
            (Some(Token::Punct(',')), ..) => i += 1,
            (Some(Token::Ident(label)), Some(Token::Op(op)), Some(Token::Str(value))) => {
                if op == "=" {
                    equals.push((label.clone(), value.clone()));
                } else if !["!=", "=~", "!~"].contains(&op.as_str()) {
                    return Err(format!("matcher operator {op}"));
                }
                i += 3;
            }
            other => return Err(format!("malformed matchers near {other:?}")),
        }
    }
}

/// Every vector selector of `expr`, in order.
pub fn selectors(expr: &str) -> Result<Vec<Selector>, String> {
    let tokens = tokens(expr)?;
    let mut found = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Ident(word) if LABEL_LISTS.contains(&word.as_str()) => {
                i = match tokens.get(i + 1) {
                    Some(Token::Punct('(')) => skip_group(&tokens, i + 1, ('(', ')'))?,
                    _ => i + 1,
                };
            }
            Token::Ident(word) if KEYWORDS.contains(&word.as_str()) || AGGREGATIONS.contains(&word.as_str()) => i += 1,
            Token::Ident(_) if tokens.get(i + 1) == Some(&Token::Punct('(')) => i += 1, // a function
            Token::Ident(name) => {
                let (equals, next) = match tokens.get(i + 1) {
                    Some(Token::Punct('{')) => matchers(&tokens, i + 1)?,
                    _ => (Vec::new(), i + 1),
                };
                found.push(Selector { name: name.clone(), equals });
                i = next;
            }
            Token::Punct('{') => {
                let (equals, next) = matchers(&tokens, i)?;
                let name = equals.iter().find(|(l, _)| l == "__name__").map(|(_, v)| v.clone());
                let name = name.ok_or_else(|| format!("a selector without a metric name in {expr}"))?;
                found.push(Selector { name, equals });
                i = next;
            }
            Token::Punct('[') => i = skip_group(&tokens, i, ('[', ']'))?,
            _ => i += 1,
        }
    }
    Ok(found)
}

#[test]
fn selectors_are_found_through_functions_aggregations_and_operators() {
    let expr = r#"
        histogram_quantile(0.95, sum without (instance, le) (rate(storymimi_x_seconds_bucket{call="reply", a=~"b|c"}[5m])))
          > 10 and on (job) group_left (kind) storymimi:ratio_rate5m
          or 0 * sum by (job) (rate(storymimi_y_total[$__rate_interval] offset 1h)) # a comment naming not_a_metric
        / max(storymimi_z{instance=~"$instance", le="+Inf"}) unless absent({__name__="storymimi_w"})"#;
    let found = selectors(expr).unwrap();
    let names: Vec<&str> = found.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["storymimi_x_seconds_bucket", "storymimi:ratio_rate5m", "storymimi_y_total", "storymimi_z", "storymimi_w"]
    );
    assert_eq!(found[0].equals, [("call".to_owned(), "reply".to_owned())]);
    assert_eq!(found[3].equals, [("le".to_owned(), "+Inf".to_owned())]);
}

#[test]
fn malformed_expressions_are_reported_not_guessed() {
    assert!(selectors("sum(rate(x{a=\"b\"[5m]))").is_err());
    assert!(selectors("x{a=\"b}").is_err());
    assert!(selectors("{a=\"b\"}").is_err());
}
