//! The builtin storyteller's phrase banks: settings, styles, and scene templates.
//! Placeholders in `{braces}` are filled from the story's cast (see `storyteller.rs`).

use actors::model::{Setting, Style};

/// Words for one kind of place: its names, what is seen there, what is in the way, a home.
pub struct SettingBank {
    pub names: &'static [&'static str],
    pub details: &'static [&'static str],
    pub obstacle: &'static str,
    pub home: &'static str,
}

/// Words for a place the child named that no bank knows ("the clouds", "under a bridge"):
/// the child's words are its name, and what is seen there is left to imagination.
pub const ELSEWHERE: SettingBank = SettingBank {
    names: &[],
    details: &[
        "It was a place full of surprises, where something new waited around every corner.",
        "The air was fresh, and everything seemed to hum with a quiet kind of magic.",
        "Little lights twinkled here and there, as if the place was smiling.",
    ],
    obstacle: "a tall wall with no door in it",
    home: "a cosy little nook that felt just like home",
};

/// The banks of the settings, one per [`Setting`].
pub fn bank(setting: Setting) -> &'static SettingBank {
    match setting {
        Setting::Forest => &SETTINGS[0],
        Setting::Castle => &SETTINGS[1],
        Setting::Sea => &SETTINGS[2],
        Setting::Space => &SETTINGS[3],
        Setting::City => &SETTINGS[4],
        Setting::Snow => &SETTINGS[5],
        Setting::Jungle => &SETTINGS[6],
        Setting::Desert => &SETTINGS[7],
        Setting::Mountains => &SETTINGS[8],
        Setting::Island => &SETTINGS[9],
        Setting::Garden => &SETTINGS[10],
        Setting::Farm => &SETTINGS[11],
        Setting::Cave => &SETTINGS[12],
    }
}

/// In [`Setting::ALL`]'s order (see [`bank`]).
const SETTINGS: [SettingBank; 13] = [
    SettingBank {
        names: &["the Whispering Woods", "Bluebell Forest", "the Old Oak Wood"],
        details: &[
            "Tall trees whispered to each other, and sunlight dripped through the leaves like honey.",
            "Mushrooms grew in little rings, and a woodpecker tapped a busy rhythm.",
            "The path was soft with moss and smelled of pine needles and rain.",
        ],
        obstacle: "a wide, rushing stream with no bridge",
        home: "a snug hollow under the roots of an old oak tree",
    },
    SettingBank {
        names: &["Castle Moonspire", "the Kingdom of Bright Towers"],
        details: &[
            "Flags fluttered from the tall towers, and the drawbridge creaked as it opened.",
            "Inside, long halls were lit by candles, and painted knights watched from the walls.",
            "From the highest window you could see the whole kingdom, green and gold.",
        ],
        obstacle: "a locked gate with a riddle carved above it",
        home: "a cosy room at the top of the tallest tower",
    },
    SettingBank {
        names: &["Seashell Bay", "the Sparkling Sea"],
        details: &[
            "Waves rolled onto the sand and whooshed back out again, leaving shells behind.",
            "Seagulls called overhead, and the air tasted of salt.",
            "Under the water, fish flashed like tiny silver coins.",
        ],
        obstacle: "a great grey storm rolling over the waves",
        home: "a little blue house by the harbour",
    },
    SettingBank {
        names: &["the Starry Way", "the planet Zibble"],
        details: &[
            "Stars twinkled in every direction, and a ringed planet glowed like a giant marble.",
            "The rocket hummed softly as it drifted past sleepy moons.",
            "Comets zipped by, trailing sparkly tails of ice.",
        ],
        obstacle: "a tumbling field of space rocks",
        home: "a round little space station with a window full of stars",
    },
    SettingBank {
        names: &["Bumbleton", "the busy city of Clatterby"],
        details: &[
            "Buses honked, bicycles rang their bells, and the bakery smelled of warm bread.",
            "Tall buildings reached up to the clouds, with window boxes full of flowers.",
            "In the park, pigeons waddled about looking for crumbs.",
        ],
        obstacle: "a traffic jam as long as a dragon's tail",
        home: "a tiny flat above the bakery",
    },
    SettingBank {
        names: &["the Frosty Peaks", "Snowdrift Valley"],
        details: &[
            "Everything was white and quiet, and snowflakes danced like feathers.",
            "Icicles hung from the rocks and sparkled in the pale winter sun.",
            "Each step went crunch, crunch, crunch in the deep, soft snow.",
        ],
        obstacle: "a slippery, frozen lake",
        home: "a warm igloo with a glowing lamp",
    },
    SettingBank {
        names: &["the Green Jungle", "Parrot Falls"],
        details: &[
            "Vines hung down like ropes, and parrots chattered in bright colours.",
            "Huge leaves dripped with raindrops, and frogs sang from every corner.",
            "A waterfall roared somewhere nearby, sending up a cool mist.",
        ],
        obstacle: "a deep river full of snoozing crocodiles",
        home: "a treehouse high in the branches",
    },
    SettingBank {
        names: &["the Golden Dunes", "Cactus Canyon"],
        details: &[
            "Sand dunes rolled like waves, golden in the warm sun.",
            "A lonely cactus stood tall, wearing a pink flower like a hat.",
            "At night the desert sky filled with more stars than anyone could count.",
        ],
        obstacle: "a whirling sandstorm",
        home: "a cool tent beside a little oasis",
    },
    SettingBank {
        names: &["the Misty Mountains", "Thunder Peak"],
        details: &[
            "The mountains rose so high that clouds wrapped around their tops like scarves.",
            "Goats hopped from rock to rock, and eagles circled overhead.",
            "The air was crisp and clean, and you could see for miles.",
        ],
        obstacle: "a narrow, wobbly rope bridge",
        home: "a cabin with a crackling fire",
    },
    SettingBank {
        names: &["Coconut Island", "the Isle of Whispers"],
        details: &[
            "Palm trees swayed, and the sand was warm underfoot.",
            "Crabs scuttled sideways, and coconuts thumped onto the beach.",
            "Turquoise water sparkled all around the little island.",
        ],
        obstacle: "a tide that was rising fast",
        home: "a hut made of palm leaves",
    },
    SettingBank {
        names: &["Buttercup Meadow", "the Secret Garden"],
        details: &[
            "Flowers nodded in the breeze, and bees hummed from blossom to blossom.",
            "Butterflies drifted past like floating petals.",
            "The grass was cool and soft and full of tiny hidden creatures.",
        ],
        obstacle: "a tall hedge with no way through",
        home: "a little shed full of flowerpots",
    },
    SettingBank {
        names: &["Sunnyside Farm", "Clover Hill Farm"],
        details: &[
            "The cows mooed good morning, and the hens clucked as they looked for seeds.",
            "A red barn stood beside a field of swaying golden wheat.",
            "The farmer's tractor chugged slowly down the muddy lane.",
        ],
        obstacle: "a muddy puddle as big as a pond",
        home: "a cosy corner of the red barn, full of sweet hay",
    },
    SettingBank {
        names: &["the Glittering Caves", "Echo Hollow"],
        details: &[
            "Crystals glittered on the walls like frozen rainbows.",
            "Drip, drop, went the water, echoing in the dark.",
            "Glowing mushrooms lit the tunnels with a soft blue light.",
        ],
        obstacle: "a dark tunnel that split three ways",
        home: "a cosy nook lit by glowing crystals",
    },
];

pub struct StyleBank {
    pub style: Style,
    pub kinds: &'static [&'static str],
    pub settings: &'static [Setting],
    pub objects: &'static [&'static str],
    pub guardians: &'static [(&'static str, &'static str)],
    pub flavour: &'static [&'static str],
    pub lessons: &'static [&'static str],
}

/// Per style: default heroes and settings, quests, the final challenge (and how kindness or
/// wit resolves it), a flavour line, and what the hero learns.
pub const STYLES: &[StyleBank] = &[
    StyleBank {
        style: Style::Fantasy,
        kinds: &["dragon", "unicorn", "wizard", "fairy"],
        settings: &[Setting::Castle, Setting::Forest, Setting::Mountains],
        objects: &[
            "the lost star crystal",
            "a golden key that could open any door",
            "the last spell of the old wizard",
        ],
        guardians: &[
            (
                "a grumpy troll who had not smiled in a hundred years",
                "asked the troll why it was so sad. The troll sniffed and said nobody ever played with it, so they played tag until the troll laughed out loud",
            ),
            (
                "a wall of thorny brambles that grew back as fast as it was cut",
                "sang a gentle song, and the brambles curled back and bloomed into roses",
            ),
        ],
        flavour: &["Magic sparkled in the air like glitter.", "Somewhere nearby, a spell was waiting to be spoken."],
        lessons: &["kindness is the strongest magic of all", "being brave does not mean never feeling scared"],
    },
    StyleBank {
        style: Style::SciFi,
        kinds: &["robot", "astronaut", "alien"],
        settings: &[Setting::Space],
        objects: &[
            "a tiny lost satellite",
            "the missing power crystal for the space station",
            "the source of a strange signal from a faraway planet",
        ],
        guardians: &[
            (
                "a robot guard with flashing red eyes",
                "noticed a loose wire on the guard's back and fixed it. The robot's eyes turned a friendly green",
            ),
            (
                "a swirling purple space cloud",
                "switched on the rocket's brightest lights, and the cloud glowed, giggled and drifted aside",
            ),
        ],
        flavour: &[
            "Lights blinked and beeped on every control panel.",
            "The ship's computer said, \"Beep boop, adventure detected!\"",
        ],
        lessons: &[
            "a clever idea can solve the trickiest problem",
            "even the smallest helper can make a big difference",
        ],
    },
    StyleBank {
        style: Style::Adventure,
        kinds: &["fox", "pirate", "explorer"],
        settings: &[Setting::Island, Setting::Jungle, Setting::Desert],
        objects: &[
            "an old treasure map's hidden treasure",
            "the legendary Sunstone",
            "a secret that had been hidden for a hundred years",
        ],
        guardians: &[
            (
                "a cunning old crocodile who loved riddles",
                "answered the crocodile's riddle with a smile, and the crocodile clapped its jaws in delight",
            ),
            (
                "a rickety door with seven locks",
                "tried each key patiently, one after another, until the last lock clicked open",
            ),
        ],
        flavour: &["Adventure was waiting just around the corner.", "The wind smelled of faraway places."],
        lessons: &["the best treasure is a good friend", "patience and courage go hand in hand"],
    },
    StyleBank {
        style: Style::Animals,
        kinds: &["rabbit", "bear", "fox", "hedgehog"],
        settings: &[Setting::Farm, Setting::Forest, Setting::Garden],
        objects: &["the missing honey pot", "the sweetest berry bush in the land", "a lost duckling's mother"],
        guardians: &[
            (
                "a bossy goose who would not let anyone pass",
                "offered the goose half of their lunch. The goose honked happily and stepped aside",
            ),
            ("a very tall fence", "asked all the animals to help, and together they built a wobbly, wonderful ladder"),
        ],
        flavour: &[
            "All around, the animals were busy with their day.",
            "A friendly breeze carried the smell of clover.",
        ],
        lessons: &["sharing makes everything better", "friends make every journey easier"],
    },
    StyleBank {
        style: Style::Bedtime,
        kinds: &["owl", "bear", "rabbit", "cat"],
        settings: &[Setting::Garden, Setting::Forest, Setting::Snow],
        objects: &[
            "the sleepy moon's lost lullaby",
            "a blanket woven from starlight",
            "the softest pillow in the world",
        ],
        guardians: &[
            (
                "a big, yawning shadow",
                "said hello to the shadow, and it turned out to be only an old tree, waving its branches goodnight",
            ),
            ("a long, dark path", "hummed a quiet song, and one by one the fireflies came to light the way"),
        ],
        flavour: &["Everything was calm and quiet and slow.", "A gentle breeze hummed a sleepy tune."],
        lessons: &["the dark is full of gentle, friendly things", "home is the cosiest place of all"],
    },
    StyleBank {
        style: Style::Funny,
        kinds: &["penguin", "monkey", "dog", "monster"],
        settings: &[Setting::City, Setting::Farm, Setting::Sea],
        objects: &[
            "the world's wobbliest jelly",
            "a hat that would not stop sneezing",
            "the king's missing spotty socks",
        ],
        guardians: &[
            (
                "a very serious giraffe who did not like jokes",
                "told the giraffe the silliest joke in the world, and the giraffe laughed so hard it fell over in a heap",
            ),
            ("a mountain of custard", "simply ate a path straight through it, which took quite a long time"),
        ],
        flavour: &["It was so silly that even the clouds giggled.", "Somewhere, somebody's trousers fell down."],
        lessons: &["laughing together makes any problem smaller", "it is fine to be a little bit silly"],
    },
    StyleBank {
        style: Style::Mystery,
        kinds: &["cat", "detective", "owl", "mouse"],
        settings: &[Setting::City, Setting::Castle, Setting::Cave],
        objects: &[
            "the answer to the case of the vanishing cookies",
            "who had left the glowing footprints",
            "the town clock's missing hands",
        ],
        guardians: &[
            (
                "a locked box with a puzzle on its lid",
                "looked closely at the puzzle, found the pattern, and pressed the pictures in the right order",
            ),
            (
                "a long row of doors that all looked the same",
                "followed the trail of cookie crumbs to the only right door",
            ),
        ],
        flavour: &[
            "Something strange was going on, and there were clues everywhere.",
            "A magnifying glass can spot what eyes alone miss.",
        ],
        lessons: &["looking carefully helps you find the truth", "asking questions is how mysteries get solved"],
    },
];

pub const NAMES: &[&str] = &[
    "Pip", "Luna", "Milo", "Juniper", "Biscuit", "Hazel", "Ziggy", "Pepper", "Bramble", "Nova", "Otto", "Maple",
    "Tumble", "Willow", "Sprout", "Clover", "Ruby", "Finn", "Poppy", "Comet",
];

pub const TRAITS: &[&str] = &["brave", "curious", "kind", "clever", "cheerful", "gentle", "bold", "little"];

pub const HOBBIES: &[&str] = &[
    "counting clouds",
    "collecting shiny pebbles",
    "singing silly songs",
    "drawing maps of secret places",
    "listening to the wind",
    "building towers out of sticks",
    "telling jokes to the moon",
];

pub const SMALL_FRIENDS: &[(&str, &str)] = &[
    ("a baby bird", "tangled in a bush"),
    ("a little snail", "stuck on a slippery rock"),
    ("a tiny mouse", "trapped under a fallen leaf as big as a blanket"),
    ("a lost ladybird", "who could not find the way home"),
];

pub const GIFTS: &[&str] =
    &["a feather that glowed in the dark", "a tiny silver bell", "a map drawn on a leaf", "a pocketful of lucky seeds"];

pub const TIMES: &[&str] = &["morning", "sunny afternoon", "breezy day", "starry evening"];

/// Sentences for each scene role. Each role has alternatives; one is chosen per story.
pub const OPENINGS: &[&[&str]] = &[
    &[
        "Once upon a time, in {place}, there lived a {t} {k} called {H}.",
        "{detail}",
        "{H} loved {hobby}.",
        "{wish_line}",
        "One {time}, something unusual happened.",
        "A message fluttered down from the sky, and it said: \"{Obj} is waiting for someone brave.\"",
        "{H} took a deep breath. \"Today is the day,\" {H} said, and set off.",
    ],
    &[
        "{detail}",
        "Right in the middle of {place} lived a {t} {k} named {H}.",
        "Every day, {H} spent hours {hobby}.",
        "{wish_line}",
        "Then, one {time}, an old friend whispered about {obj}.",
        "{flavour}",
        "\"If nobody else will look for it, I will,\" said {H}, and packed a little bag.",
    ],
];

pub const ENDINGS: &[&[&str]] = &[
    &[
        "At last it was time to go home to {home}.",
        "All of their friends came out to cheer, and {C} the {ck} did a happy dance.",
        "{H} shared {obj} with everyone, and there was enough joy for all.",
        "That night, {H} thought about the whole adventure.",
        "{H} had learned that {lesson}.",
        "{wish_end}",
        "Then the {t} {k} snuggled down, smiled a sleepy smile, and dreamed of tomorrow. The end.",
    ],
    &[
        "The journey home to {home} felt shorter than the journey there.",
        "{H} and {C} talked and laughed the whole way.",
        "When they arrived, everyone gathered round to hear about {obj}.",
        "{detail}",
        "\"I could not have done it without you,\" {H} told {C}.",
        "{wish_end}",
        "And from that day on, {H} always remembered that {lesson}. The end.",
    ],
];

pub struct Episode {
    pub title: &'static str,
    pub lines: &'static [&'static str],
}

/// Middle scenes, in the order they are used (shuffled per story, companion first).
pub const MEET_COMPANION: Episode = Episode {
    title: "A New Friend",
    lines: &[
        "Along the way, {H} met {C} the {ck}.",
        "{C} was sitting on a rock, looking a little bored.",
        "\"Where are you going?\" asked {C}.",
        "\"To find {obj},\" said {H}.",
        "{C}'s eyes grew wide. \"Can I come too?\"",
        "\"Of course,\" said {H}. \"Adventures are better with a friend.\"",
        "{detail}",
        "So off they went together, side by side, sharing stories and snacks.",
    ],
};

pub const EPISODES: &[Episode] = &[
    Episode {
        title: "The Big Problem",
        lines: &[
            "Soon they came to {obstacle}.",
            "{H} stopped and looked. How would they ever get past?",
            "{C} scratched their head. {H} tapped a foot and thought very hard.",
            "Then {H} had an idea.",
            "\"If we work together, step by careful step, we can do it,\" said {H}.",
            "And they did. Little by little, holding on to each other, they reached the other side.",
            "\"We did it!\" they cheered.",
        ],
    },
    Episode {
        title: "A Tiny Voice",
        lines: &[
            "Suddenly, they heard a tiny voice calling for help.",
            "It was {small}, {stuck}.",
            "{H} was {t} and very careful, and gently helped the little creature free.",
            "\"Thank you, thank you!\" it squeaked, and gave {H} {gift}.",
            "\"This will help you when you need it most,\" it said.",
            "{H} tucked the gift away safely, and they carried on.",
            "{flavour}",
        ],
    },
    Episode {
        title: "Which Way Now?",
        lines: &[
            "The path twisted and turned until {H} was not sure which way to go.",
            "{detail}",
            "\"I think we might be lost,\" whispered {C}.",
            "{H} looked all around and listened carefully.",
            "Far away, something twinkled, like a little light saying this way, this way.",
            "\"Let's follow it,\" said {H}, feeling brave again.",
            "The twinkle led them back to the right path, and they hurried on.",
        ],
    },
    Episode {
        title: "Resting Under the Stars",
        lines: &[
            "By evening, everyone was tired, so they stopped to rest.",
            "{C} found a soft place to sit, and {H} shared a snack.",
            "{detail}",
            "They talked about home, and about {obj}, and about what they might find tomorrow.",
            "{H} felt a little nervous, and said so.",
            "\"Me too,\" said {C}. \"But we are together.\"",
            "That made {H} feel much better, and they both fell asleep smiling.",
        ],
    },
    Episode {
        title: "A Clue!",
        lines: &[
            "The next morning, {C} spotted something on the ground.",
            "It was a clue: a drawing of {obj}, with an arrow pointing ahead.",
            "\"We are getting close!\" said {H}, hopping with excitement.",
            "{flavour}",
            "They followed the arrow past {landmark}.",
            "{detail}",
            "With every step, {H} felt braver and braver.",
        ],
    },
    Episode {
        title: "Helping Hands",
        lines: &[
            "On the way they met a group of friends who were trying to move a heavy log off the path.",
            "\"Can we help?\" asked {H}.",
            "Everyone pushed together. One, two, three, heave!",
            "The log rolled away, and everybody cheered.",
            "In return, the friends told them a secret: the quickest way to {obj}.",
            "{detail}",
            "{H} and {C} waved goodbye and hurried on.",
        ],
    },
];

pub const CLIMAX: Episode = Episode {
    title: "The Final Challenge",
    lines: &[
        "At last they reached the very heart of {place}, where {obj} was waiting.",
        "But in front of it was {guardian}.",
        "{C} hid behind {H}. {H}'s knees wobbled a little.",
        "{fear_line}",
        "{H} did not run away. Instead, {H} {resolution}.",
        "And there it was: {obj}, shining and safe.",
        "{H} held it up high, and {C} cheered the loudest cheer in all of {place}.",
    ],
};

/// The one-scene story: beginning, middle and end together.
pub const WHOLE: &[&str] = &[
    "Once upon a time, in {place}, there lived a {t} {k} called {H}.",
    "{detail}",
    "{wish_line}",
    "One {time}, {H} set off to find {obj}, and soon met {C} the {ck}, who came along.",
    "When they reached {guardian}, {H} did not run away. Instead, {H} {resolution}.",
    "Then the two friends went home to {home}, happy and tired.",
    "{wish_end}",
    "{H} had learned that {lesson}. The end.",
];

pub const LANDMARKS: &[&str] = &[
    "a crooked old signpost",
    "a bridge made of stepping stones",
    "a hill shaped like a sleeping cat",
    "a tree with a door in it",
];
