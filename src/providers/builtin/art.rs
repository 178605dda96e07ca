//! Shapes for the builtin illustrator, as SVG fragments: hero families drawn around (0, 0)
//! standing on y = 0, and backdrops per setting on a 768×512 canvas with the ground at y = 400.

use actors::model::Setting;

mod wear;
pub use wear::accessory;

/// Colours for one character: body, a darker shade, and a lighter belly/face.
#[derive(Clone, Copy)]
pub struct Paint<'a> {
    pub body: &'a str,
    pub dark: &'a str,
    pub light: &'a str,
}

/// The families of heroes we can draw; every kind the child may ask for maps to one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Family {
    Dragon,
    Horse { horn: bool },
    Critter { ears: Ears, tail: Tail },
    Bird { penguin: bool },
    Robot,
    Person { hat: Hat },
    Sea,
    Blob,
}

/// Something a character wears, drawn in a colour of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accessory {
    Scarf,
    Hat,
    Bow,
    Crown,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Ears {
    Pointy,
    Round,
    Long,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tail {
    Bushy,
    Thin,
    Puff,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Hat {
    None,
    Crown,
    Wizard,
    Helmet,
    Pirate,
}

pub fn family(kind: &str) -> Family {
    use Family::*;
    // A species or pet word is drawn as its kind ("puppy" as a dog); a kind nobody drew yet as
    // the nearest shape.
    match actors::requirements::base_kind(kind).unwrap_or(kind) {
        "dragon" | "dinosaur" | "monster" | "crocodile" | "lizard" | "snake" => Dragon,
        "unicorn" => Horse { horn: true },
        "horse" | "deer" | "camel" | "llama" | "goat" | "cow" | "sheep" | "giraffe" | "zebra" => Horse { horn: false },
        "fox" | "squirrel" | "wolf" | "raccoon" | "badger" => Critter { ears: Ears::Pointy, tail: Tail::Bushy },
        "cat" | "tiger" | "lion" | "cheetah" => Critter { ears: Ears::Pointy, tail: Tail::Thin },
        "dog" | "mouse" | "monkey" | "hamster" | "pig" | "otter" | "beaver" | "sloth" => {
            Critter { ears: Ears::Round, tail: Tail::Thin }
        }
        "bear" | "hedgehog" | "frog" | "elephant" | "panda" | "koala" | "hippo" | "gorilla" | "yeti" => {
            Critter { ears: Ears::Round, tail: Tail::Puff }
        }
        "rabbit" | "kangaroo" => Critter { ears: Ears::Long, tail: Tail::Puff },
        "owl" | "bird" | "parrot" | "duck" | "chicken" | "eagle" | "swan" | "flamingo" | "phoenix" | "bat" => {
            Bird { penguin: false }
        }
        "penguin" => Bird { penguin: true },
        "robot" | "alien" | "train" | "tractor" => Robot,
        "princess" | "prince" | "king" | "queen" => Person { hat: Hat::Crown },
        "wizard" | "witch" | "fairy" | "elf" | "gnome" => Person { hat: Hat::Wizard },
        "knight" | "astronaut" | "ninja" | "superhero" => Person { hat: Hat::Helmet },
        "pirate" => Person { hat: Hat::Pirate },
        "girl" | "boy" | "child" | "baby" | "detective" | "giant" | "mermaid" | "troll" | "ogre" | "goblin"
        | "dwarf" | "teacher" | "doctor" | "chef" | "farmer" | "explorer" | "scientist" | "doll" | "snowman" => {
            Person { hat: Hat::None }
        }
        "whale" | "dolphin" | "fish" | "octopus" | "turtle" | "shark" | "seal" | "crab" | "jellyfish" | "starfish"
        | "seahorse" | "narwhal" => Sea,
        _ => Blob,
    }
}

fn eye(x: i32, y: i32, r: i32) -> String {
    let (pupil_x, pupil_r) = (x as f32 + r as f32 * 0.25, r as f32 * 0.55);
    format!(
        r##"<circle cx="{x}" cy="{y}" r="{r}" fill="#fff"/><circle cx="{pupil_x}" cy="{y}" r="{pupil_r}" fill="#222"/>"##
    )
}

/// A hero (or friend) drawn at the origin, about 180 px tall.
pub fn hero(family: Family, p: Paint) -> String {
    let Paint { body, dark, light } = p;
    match family {
        Family::Dragon => format!(
            r##"<path d="M60,-60 Q140,-70 150,-140 Q120,-90 70,-95 Z" fill="{dark}"/>
<path d="M-20,-120 L-70,-190 L-10,-150 L10,-200 L30,-140 Z" fill="{dark}" opacity="0.9"/>
<ellipse cx="0" cy="-70" rx="80" ry="55" fill="{body}"/><ellipse cx="0" cy="-55" rx="50" ry="32" fill="{light}"/>
<rect x="-55" y="-30" width="26" height="32" rx="10" fill="{dark}"/><rect x="30" y="-30" width="26" height="32" rx="10" fill="{dark}"/>
<path d="M-50,-100 Q-80,-150 -60,-175" stroke="{body}" stroke-width="34" fill="none" stroke-linecap="round"/>
<ellipse cx="-70" cy="-185" rx="42" ry="32" fill="{body}"/><path d="M-90,-210 L-100,-240 L-75,-214 M-55,-212 L-50,-242 L-40,-212" fill="{light}" stroke="{light}" stroke-width="6"/>
{}<circle cx="-105" cy="-180" r="4" fill="{dark}"/>"##,
            eye(-62, -192, 9)
        ),
        Family::Horse { horn } => format!(
            r##"<ellipse cx="0" cy="-80" rx="85" ry="45" fill="{body}"/>
<rect x="-65" y="-50" width="18" height="52" rx="6" fill="{body}"/><rect x="-25" y="-50" width="18" height="52" rx="6" fill="{body}"/>
<rect x="25" y="-50" width="18" height="52" rx="6" fill="{body}"/><rect x="55" y="-50" width="18" height="52" rx="6" fill="{body}"/>
<path d="M60,-100 Q120,-90 110,-30" stroke="{dark}" stroke-width="14" fill="none"/>
<path d="M-50,-100 L-90,-170 L-60,-185 L-20,-110 Z" fill="{body}"/><ellipse cx="-95" cy="-185" rx="40" ry="24" fill="{body}"/>
<path d="M-60,-185 Q-30,-150 -40,-110 Q-10,-150 -45,-190 Z" fill="{dark}"/>
{}{}"##,
            eye(-95, -192, 8),
            if horn {
                r##"<path d="M-85,-205 L-70,-260 L-68,-203 Z" fill="#f6d365" stroke="#e0a800" stroke-width="2"/>"##
            } else {
                ""
            }
        ),
        Family::Critter { ears, tail } => {
            let ears = match ears {
                Ears::Pointy => format!(
                    r##"<path d="M-45,-165 L-38,-215 L-12,-175 Z M45,-165 L38,-215 L12,-175 Z" fill="{body}"/>"##
                ),
                Ears::Round => format!(
                    r##"<circle cx="-38" cy="-185" r="18" fill="{body}"/><circle cx="38" cy="-185" r="18" fill="{body}"/>"##
                ),
                Ears::Long => format!(
                    r##"<ellipse cx="-22" cy="-225" rx="13" ry="45" fill="{body}"/><ellipse cx="22" cy="-225" rx="13" ry="45" fill="{body}"/><ellipse cx="-22" cy="-222" rx="6" ry="32" fill="{light}"/><ellipse cx="22" cy="-222" rx="6" ry="32" fill="{light}"/>"##
                ),
            };
            let tail = match tail {
                Tail::Bushy => format!(
                    r##"<path d="M50,-30 Q140,-40 120,-120 Q100,-60 45,-60 Z" fill="{body}"/><path d="M112,-105 Q125,-115 120,-122 Q110,-100 100,-95 Z" fill="{light}"/>"##
                ),
                Tail::Thin => format!(
                    r##"<path d="M50,-25 Q110,-20 100,-90" stroke="{body}" stroke-width="12" fill="none" stroke-linecap="round"/>"##
                ),
                Tail::Puff => format!(r##"<circle cx="62" cy="-35" r="18" fill="{light}"/>"##),
            };
            format!(
                r##"{tail}<ellipse cx="0" cy="-60" rx="60" ry="62" fill="{body}"/><ellipse cx="0" cy="-45" rx="36" ry="40" fill="{light}"/>
<ellipse cx="-30" cy="-4" rx="22" ry="10" fill="{dark}"/><ellipse cx="30" cy="-4" rx="22" ry="10" fill="{dark}"/>
{ears}<circle cx="0" cy="-150" r="50" fill="{body}"/><ellipse cx="0" cy="-130" rx="26" ry="18" fill="{light}"/>
{}{}<circle cx="0" cy="-138" r="7" fill="#222"/><path d="M-8,-124 Q0,-116 8,-124" stroke="#222" stroke-width="3" fill="none"/>"##,
                eye(-18, -160, 9),
                eye(18, -160, 9)
            )
        }
        Family::Bird { penguin } => format!(
            r##"<ellipse cx="0" cy="-85" rx="62" ry="85" fill="{}"/><ellipse cx="0" cy="-70" rx="40" ry="62" fill="{}"/>
<path d="M-60,-110 Q-95,-60 -55,-30 Z M60,-110 Q95,-60 55,-30 Z" fill="{dark}"/>
{}{}<path d="M-8,-125 L0,-108 L8,-125 Z" fill="#f39c12"/>
<path d="M-25,0 L-15,-12 L-5,0 Z M5,0 L15,-12 L25,0 Z" fill="#f39c12"/>"##,
            if penguin { "#2d3436" } else { body },
            if penguin { "#fdfdfd" } else { light },
            eye(-20, -140, 15),
            eye(20, -140, 15)
        ),
        Family::Robot => format!(
            r##"<rect x="-55" y="-130" width="110" height="110" rx="16" fill="{body}"/><rect x="-35" y="-105" width="70" height="50" rx="8" fill="{light}"/>
<circle cx="-15" cy="-80" r="6" fill="#e74c3c"/><circle cx="5" cy="-80" r="6" fill="#f1c40f"/><circle cx="25" cy="-80" r="6" fill="#2ecc71"/>
<rect x="-40" y="-20" width="22" height="22" fill="{dark}"/><rect x="18" y="-20" width="22" height="22" fill="{dark}"/>
<rect x="-85" y="-120" width="30" height="14" rx="7" fill="{dark}"/><rect x="55" y="-120" width="30" height="14" rx="7" fill="{dark}"/>
<rect x="-45" y="-215" width="90" height="75" rx="14" fill="{body}"/><line x1="0" y1="-215" x2="0" y2="-245" stroke="{dark}" stroke-width="5"/>
<circle cx="0" cy="-250" r="9" fill="#f1c40f"/><circle cx="-20" cy="-180" r="13" fill="#aee9ff"/><circle cx="20" cy="-180" r="13" fill="#aee9ff"/>
<rect x="-20" y="-158" width="40" height="6" rx="3" fill="{dark}"/>"##
        ),
        Family::Person { hat } => {
            let hat = match hat {
                Hat::None => format!(r##"<path d="M-38,-205 Q0,-250 38,-205 Q30,-225 0,-228 Q-30,-225 -38,-205 Z" fill="{dark}"/>"##),
                Hat::Crown => r##"<path d="M-30,-222 L-30,-250 L-15,-235 L0,-255 L15,-235 L30,-250 L30,-222 Z" fill="#f6d365" stroke="#e0a800" stroke-width="2"/>"##.to_owned(),
                Hat::Wizard => format!(r##"<path d="M-50,-215 L50,-215 L5,-310 Z" fill="{dark}"/><circle cx="0" cy="-265" r="6" fill="#f6d365"/>"##),
                Hat::Helmet => r##"<path d="M-40,-200 Q0,-265 40,-200 Z" fill="#bdc3c7" stroke="#7f8c8d" stroke-width="3"/>"##.to_owned(),
                Hat::Pirate => r##"<path d="M-50,-215 Q0,-270 50,-215 Z" fill="#2d3436"/><circle cx="0" cy="-232" r="6" fill="#fff"/>"##.to_owned(),
            };
            format!(
                r##"<rect x="-28" y="-60" width="20" height="60" rx="8" fill="#34495e"/><rect x="8" y="-60" width="20" height="60" rx="8" fill="#34495e"/>
<path d="M-45,-60 L-30,-150 L30,-150 L45,-60 Z" fill="{body}"/><path d="M-30,-145 L-70,-95 M30,-145 L70,-95" stroke="{body}" stroke-width="16" stroke-linecap="round"/>
<circle cx="-72" cy="-92" r="10" fill="#f5cba7"/><circle cx="72" cy="-92" r="10" fill="#f5cba7"/>
<circle cx="0" cy="-185" r="38" fill="#f5cba7"/>{}{}<path d="M-10,-168 Q0,-160 10,-168" stroke="#c0392b" stroke-width="3" fill="none"/>{hat}"##,
                eye(-13, -190, 7),
                eye(13, -190, 7)
            )
        }
        Family::Sea => format!(
            r##"<ellipse cx="0" cy="-80" rx="110" ry="60" fill="{body}"/><ellipse cx="0" cy="-60" rx="80" ry="30" fill="{light}"/>
<path d="M100,-80 L160,-130 L150,-80 L160,-30 Z" fill="{dark}"/><path d="M-10,-135 Q10,-175 30,-135 Z" fill="{dark}"/>
{}<path d="M-90,-70 Q-75,-60 -65,-72" stroke="#222" stroke-width="3" fill="none"/>"##,
            eye(-60, -95, 11)
        ),
        Family::Blob => format!(
            r##"<path d="M-80,0 Q-95,-150 0,-170 Q95,-150 80,0 Z" fill="{body}"/><ellipse cx="0" cy="-60" rx="50" ry="45" fill="{light}"/>
{}{}<path d="M-15,-95 Q0,-80 15,-95" stroke="#222" stroke-width="4" fill="none"/>
<ellipse cx="-35" cy="0" rx="22" ry="10" fill="{dark}"/><ellipse cx="35" cy="0" rx="22" ry="10" fill="{dark}"/>"##,
            eye(-25, -120, 14),
            eye(25, -120, 14)
        ),
    }
}

/// The far scenery of a setting, drawn on top of the sky and ground; `None`: a place the
/// child named that there is no picture of (rolling hills, the nearest shape).
pub fn backdrop(setting: Option<Setting>, night: bool, variant: u64) -> String {
    let v = variant as f32;
    match setting {
        Some(Setting::Forest | Setting::Jungle) => {
            let mut s = String::new();
            for i in 0..7 {
                let x = (i as f32) * 120.0 + (v * 37.0) % 60.0 - 20.0;
                let h = 150.0 + ((i * 53 + variant as usize * 17) % 90) as f32;
                let green = if setting == Some(Setting::Jungle) { "#1e8449" } else { "#27ae60" };
                s.push_str(&format!(
                    r##"<rect x="{}" y="{}" width="18" height="{}" fill="#6e4b2a"/><circle cx="{}" cy="{}" r="{}" fill="{green}" opacity="0.95"/>"##,
                    x - 9.0, 400.0 - h * 0.5, h * 0.5, x, 400.0 - h * 0.55, h * 0.33
                ));
            }
            s
        }
        Some(Setting::Castle) => r##"<g fill="#9b8fb0"><rect x="430" y="180" width="220" height="220"/><rect x="400" y="120" width="60" height="280"/><rect x="620" y="120" width="60" height="280"/>
<path d="M395,120 L430,60 L465,120 Z M615,120 L650,60 L685,120 Z" fill="#6c5ce7"/><rect x="515" y="300" width="50" height="100" rx="25" fill="#5d4e75"/>
<rect x="470" y="160" width="14" height="20" fill="#5d4e75"/><rect x="510" y="160" width="14" height="20" fill="#5d4e75"/><rect x="550" y="160" width="14" height="20" fill="#5d4e75"/><rect x="590" y="160" width="14" height="20" fill="#5d4e75"/></g>"##.to_owned(),
        Some(Setting::Sea | Setting::Island) => {
            let mut s = r##"<rect x="0" y="300" width="768" height="212" fill="#2e86c1"/>"##.to_owned();
            for i in 0..8 {
                let x = i as f32 * 110.0 + (v * 23.0) % 50.0;
                s.push_str(&format!(r##"<path d="M{x},{} q25,-18 50,0 q25,18 50,0" stroke="#aed6f1" stroke-width="5" fill="none"/>"##, 330.0 + (i % 3) as f32 * 25.0));
            }
            if setting == Some(Setting::Island) {
                s.push_str(r##"<ellipse cx="560" cy="330" rx="150" ry="35" fill="#f7dc6f"/><path d="M560,320 Q570,250 590,210" stroke="#8e5b2e" stroke-width="12" fill="none"/>
<path d="M590,210 q-60,-10 -80,20 M590,210 q60,-15 80,15 M590,210 q-20,-40 -60,-50 M590,210 q30,-40 70,-40" stroke="#27ae60" stroke-width="14" fill="none" stroke-linecap="round"/>"##);
            } else {
                s.push_str(r##"<path d="M520,300 L640,300 L620,330 L540,330 Z" fill="#a04000"/><path d="M580,300 L580,220 L630,290 Z" fill="#fdfefe"/>"##);
            }
            s
        }
        Some(Setting::Space) => {
            let mut s = String::new();
            let mut rng = super::rng::Rng::new(variant);
            for i in 0..40u64 {
                let (x, y) = (rng.below(768), rng.below(300));
                s.push_str(&format!(r##"<circle cx="{x}" cy="{y}" r="{}" fill="#fff"/>"##, 1 + i % 3));
            }
            s.push_str(r##"<circle cx="600" cy="120" r="55" fill="#e59866"/><ellipse cx="600" cy="120" rx="90" ry="16" fill="none" stroke="#f5cba7" stroke-width="6"/><circle cx="140" cy="90" r="22" fill="#85c1e9"/>"##);
            s
        }
        Some(Setting::City) => {
            let mut s = String::new();
            for i in 0..8 {
                let x = i as f32 * 100.0 - 10.0;
                let h = 140.0 + ((i * 67 + variant as usize * 11) % 120) as f32;
                s.push_str(&format!(r##"<rect x="{x}" y="{}" width="80" height="{h}" fill="#7f8c8d"/>"##, 400.0 - h));
                for w in 0..((h / 40.0) as i32) {
                    let lit = if night { "#f7dc6f" } else { "#d6eaf8" };
                    s.push_str(&format!(r##"<rect x="{}" y="{}" width="14" height="16" fill="{lit}"/><rect x="{}" y="{}" width="14" height="16" fill="{lit}"/>"##, x + 15.0, 415.0 - h + w as f32 * 40.0, x + 50.0, 415.0 - h + w as f32 * 40.0));
                }
            }
            s
        }
        Some(Setting::Snow | Setting::Mountains) => {
            let mut s = r##"<path d="M-20,400 L150,150 L320,400 Z M200,400 L420,110 L640,400 Z M500,400 L680,180 L860,400 Z" fill="#95a5a6"/>
<path d="M150,150 L115,205 L185,205 Z M420,110 L375,170 L465,170 Z M680,180 L645,230 L715,230 Z" fill="#fdfefe"/>"##.to_owned();
            if setting == Some(Setting::Snow) {
                for i in 0..30u64 {
                    s.push_str(&format!(r##"<circle cx="{}" cy="{}" r="4" fill="#fff" opacity="0.9"/>"##, (i * 89 + variant * 13) % 768, (i * 41 + variant * 29) % 380));
                }
            }
            s
        }
        Some(Setting::Desert) => r##"<path d="M0,330 Q200,260 400,330 T800,320 L800,400 L0,400 Z" fill="#f0b27a"/>
<rect x="610" y="250" width="26" height="150" rx="12" fill="#229954"/><path d="M623,300 q-40,0 -40,-40 M623,320 q40,0 40,-45" stroke="#229954" stroke-width="18" fill="none" stroke-linecap="round"/>"##.to_owned(),
        Some(Setting::Farm) => r##"<rect x="470" y="220" width="170" height="180" fill="#c0392b"/><path d="M455,220 L555,150 L655,220 Z" fill="#922b21"/><rect x="530" y="300" width="50" height="100" fill="#fdfefe"/>
<path d="M0,370 L768,370 M0,340 L768,340" stroke="#d35400" stroke-width="6"/><g fill="#d35400"><rect x="20" y="320" width="10" height="80"/><rect x="120" y="320" width="10" height="80"/><rect x="220" y="320" width="10" height="80"/><rect x="320" y="320" width="10" height="80"/></g>"##.to_owned(),
        Some(Setting::Cave) => {
            let mut s = r##"<path d="M0,0 L768,0 L768,512 L0,512 Z M60,400 Q80,120 384,90 Q690,120 710,400 Z" fill="#4a3b52" fill-rule="evenodd"/>"##.to_owned();
            for i in 0..6u64 {
                let x = 90 + (i * 113 + variant * 19) % 600;
                s.push_str(&format!(r##"<path d="M{x},400 L{},{} L{},400 Z" fill="#a569bd" opacity="0.9"/>"##, x + 12, 340 - (i % 3) * 20, x + 24));
            }
            s
        }
        _ => {
            // Gardens, meadows and places we have no picture for: rolling hills with flowers.
            let mut s = r##"<path d="M0,340 Q190,270 380,340 T768,330 L768,400 L0,400 Z" fill="#58d68d"/>"##.to_owned();
            for i in 0..14u64 {
                let colours = ["#e74c3c", "#f1c40f", "#ff6fb5", "#ffffff"];
                s.push_str(&format!(r##"<circle cx="{}" cy="{}" r="7" fill="{}"/>"##, (i * 61 + variant * 23) % 768, 380 + (i * 7) % 20, colours[(i as usize) % 4]));
            }
            s
        }
    }
}

/// Ground colour under a setting (`None`: a place there is no picture of).
pub fn ground(setting: Option<Setting>) -> &'static str {
    match setting {
        Some(Setting::Snow) => "#ecf0f1",
        Some(Setting::Sea | Setting::Island) => "#f7dc6f",
        Some(Setting::Space) => "#aab7b8",
        Some(Setting::City) => "#95a5a6",
        Some(Setting::Desert) => "#f5cba7",
        Some(Setting::Cave) => "#5b4a63",
        Some(Setting::Castle | Setting::Mountains) => "#7dcea0",
        Some(Setting::Farm) => "#a9dfbf",
        _ => "#52be80",
    }
}
