//! What a character wears (a scarf, a hat, a bow, a crown), drawn where each family has its
//! neck and the top of its head, in the accessory's own colour.

use super::{Accessory, Family, Hat};

/// Where a family's neck is (centre x, y, width) and the top of its head (x, y).
fn anchors(family: Family) -> ((i32, i32, i32), (i32, i32)) {
    match family {
        Family::Dragon => ((-57, -128, 46), (-70, -214)),
        Family::Horse { .. } => ((-62, -132, 44), (-100, -206)),
        Family::Critter { .. } => ((0, -102, 78), (0, -196)),
        Family::Bird { .. } => ((0, -104, 104), (0, -166)),
        Family::Robot => ((0, -134, 66), (0, -218)),
        Family::Person { hat: Hat::None } => ((0, -146, 44), (0, -220)),
        Family::Person { .. } => ((0, -146, 44), (0, -252)),
        Family::Sea => ((-40, -52, 64), (-58, -136)),
        Family::Blob => ((0, -66, 132), (0, -166)),
    }
}

/// `accessory` in `colour`, for a character of `family` drawn at the origin.
pub fn accessory(family: Family, accessory: Accessory, colour: &str) -> String {
    let ((nx, ny, w), (hx, hy)) = anchors(family);
    let edge = r##"stroke="#00000033" stroke-width="2""##;
    match accessory {
        // A whale has no neck: a sash around its middle.
        Accessory::Scarf if family == Family::Sea => {
            format!(r##"<rect x="{}" y="-140" width="22" height="120" rx="9" fill="{colour}" {edge}/>"##, nx - 11)
        }
        Accessory::Scarf => format!(
            r##"<rect x="{}" y="{}" width="{w}" height="20" rx="9" fill="{colour}" {edge}/><path d="M{},{} l8,48 l18,-3 l-6,-45 Z" fill="{colour}" {edge}/>"##,
            nx - w / 2,
            ny - 10,
            nx + w / 5,
            ny + 4,
        ),
        Accessory::Hat => format!(
            r##"<rect x="{}" y="{}" width="72" height="11" rx="4" fill="{colour}" {edge}/><rect x="{}" y="{}" width="46" height="42" rx="6" fill="{colour}" {edge}/>"##,
            hx - 36,
            hy - 8,
            hx - 23,
            hy - 46,
        ),
        Accessory::Bow => format!(
            r##"<path d="M{x},{y} l-28,-18 l0,36 Z M{x},{y} l28,-18 l0,36 Z" fill="{colour}" {edge}/><circle cx="{x}" cy="{y}" r="8" fill="{colour}"/>"##,
            x = hx + 16,
            y = hy + 6,
        ),
        Accessory::Crown => format!(
            r##"<path d="M{l},{b} L{l},{t} L{},{m} L{hx},{top} L{},{m} L{r},{t} L{r},{b} Z" fill="{colour}" {edge}/>"##,
            hx - 14,
            hx + 14,
            l = hx - 28,
            r = hx + 28,
            b = hy + 4,
            t = hy - 26,
            m = hy - 12,
            top = hy - 32,
        ),
    }
}
