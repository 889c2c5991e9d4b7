"""The bilingual English-Korean lexicon of the generated translation corpus (data only).

Every entry carries the English word, the Korean dictionary form and a few semantic tags. The
templates in generate.py read the tags to keep sentences plausible: a verb's frames say which
subjects and objects it takes, an adjective says which nouns it describes, a location says what
can be found there ("has:animal+pet" = pets may be there).

Tag patterns, used by verb frames and adjectives: alternatives joined by "|", each alternative a
set of tags joined by "+" that a noun must all carry. "person+able | animal+land" = a person
able to act (not a baby) or an animal that walks.

Morphology is NOT stored here: plurals, past tenses, particles (을/를, 이/가, ...) and Korean
conjugation are computed by english.py, korean.py and seq2seq/hangul.py (English irregular forms
live in english.py's tables). The one exception is the irregular class of a Korean stem where spelling
cannot tell it (듣다 is ㄷ-irregular, 닫다 is regular), given as `irregular`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Noun:
    """A noun; `en` is its English singular and its key in NOUNS."""

    en: str
    ko: str
    tags: frozenset[str]
    article: str = "count"  # "count": a/the; "mass": no "a" (water, rice); "bare": never an article (math)
    counter: str = ""  # Korean counter for numbers (마리, 개, 명, ...); "" = never counted
    prep: str = "in"  # English preposition of location: in the park, at the station, on the farm


@dataclass(frozen=True)
class Pronoun:
    """A personal pronoun; persons 1 and 3, no "you" (its number is ambiguous in English)."""

    en: str
    en_object: str
    ko: str
    person: int
    plural: bool
    tags: frozenset[str] = frozenset({"person", "able", "adult", "pronoun"})


@dataclass(frozen=True)
class Frame:
    """Who can do a verb (`subject` pattern) to what (`object` pattern, "" = no object)."""

    subject: str
    object: str = ""


@dataclass(frozen=True)
class Verb:
    """A verb with its frames and the adjuncts it accepts."""

    id: str  # unique key; English base forms can repeat ("play" = 놀다, "play (music)" = 치다)
    en: str  # English base form, with a particle if phrasal: "wake up"
    ko: str  # Korean dictionary form; several words allowed, the last is conjugated: "춤을 추다"
    frames: tuple[Frame, ...]
    irregular: str = ""  # "ㄷ", "ㅂ", "ㅅ" or "ㅎ"; 르, ㄹ, 으 and 하다 are recognised from spelling
    prep: str = ""  # English preposition before the object ("to", "for", "on"); "LOC" = the noun's own
    case: str = "을/를"  # Korean particle on the object: "을/를", or "에" for destinations
    object_optional: bool = False
    place: str = ""  # tag a place needs to host the action ("eat" -> restaurant, kitchen, ...): 에서
    tool: str = ""  # tag of nouns usable "with" as an instrument: (으)로
    vehicle: bool = False  # accepts "by bus": (으)로
    companion: bool = False  # accepts "with a friend": 와/과
    split: str = ""  # noun part of a noun+verb compound; short negation goes after it: 공부 안 해요
    negative: str = ""  # suppletive negative verb: 알다 -> 모르다
    tenses: tuple[str, ...] = ("present", "past", "future")
    timed: bool = True  # whether time words (yesterday, tomorrow, ...) fit
    definite: bool = False  # a countable object takes "the", never "a": "likes the dog", not "likes a dog"


@dataclass(frozen=True)
class Adjective:
    """A descriptive verb (Korean adjectives conjugate like verbs)."""

    en: str
    ko: str
    applies: str  # tag pattern of the nouns it describes
    irregular: str = ""
    state: bool = False  # a passing state (hungry, hot): time words and the future fit
    negative: str = ""  # suppletive negative: 맛있다 -> 맛없다


@dataclass(frozen=True)
class TimeWord:
    """A time expression; it fixes the tense of the sentence."""

    en: str
    ko: str
    tense: str


def _nouns(group: str, counter: str, rows: list[tuple]) -> list[Noun]:
    """Build nouns from (en, ko, tags[, options]) rows; `group` tags and `counter` are added to all."""
    out = []
    for row in rows:
        en, ko, tags = row[:3]
        options = dict(row[3]) if len(row) > 3 else {}
        options.setdefault("counter", counter if options.get("article", "count") == "count" else "")
        out.append(Noun(en, ko, frozenset((group + " " + tags).split()), **options))
    return out


# --- nouns ------------------------------------------------------------------------------------------

PEOPLE = _nouns("person", "명", [
    ("person", "사람", "adult able"),
    ("man", "남자", "adult able"),
    ("woman", "여자", "adult able pretty"),
    ("boy", "소년", "young able"),
    ("girl", "소녀", "young able pretty"),
    ("child", "아이", "young able"),
    ("baby", "아기", "baby pretty"),
    ("student", "학생", "young able job young_job"),
    ("teacher", "선생님", "adult able job"),
    ("doctor", "의사", "adult able job"),
    ("nurse", "간호사", "adult able job"),
    ("chef", "요리사", "adult able job"),
    ("farmer", "농부", "adult able job"),
    ("police officer", "경찰관", "adult able job"),
    ("driver", "운전기사", "adult able job"),
    ("singer", "가수", "adult able job"),
    ("painter", "화가", "adult able job"),
    ("friend", "친구", "adult able"),
    ("mother", "어머니", "adult able"),
    ("father", "아버지", "adult able"),
    ("grandmother", "할머니", "adult able"),
    ("grandfather", "할아버지", "adult able"),
    ("son", "아들", "young able"),
    ("daughter", "딸", "young able pretty"),
    ("king", "왕", "adult able royal"),
    ("queen", "여왕", "adult able royal pretty"),
    ("soldier", "군인", "adult able job"),
    ("scientist", "과학자", "adult able job"),
    ("writer", "작가", "adult able job"),
    ("pilot", "조종사", "adult able job"),
    ("firefighter", "소방관", "adult able job"),
    ("lawyer", "변호사", "adult able job"),
    ("dentist", "치과 의사", "adult able job"),
    ("baker", "제빵사", "adult able job"),
    ("neighbor", "이웃", "adult able"),
    ("uncle", "삼촌", "adult able"),
])

# diet: herb (plants), carn (meat, fish), omni; land = walks and runs
ANIMALS = _nouns("animal", "마리", [
    ("cat", "고양이", "pet small land coat carn hunter climber jumper playful"),
    ("dog", "개", "pet land coat omni barks biter hunter swims jumper smart playful"),
    ("puppy", "강아지", "pet small land coat omni barks jumper playful"),
    ("bird", "새", "small flies herb prey"),
    ("mouse", "쥐", "small land omni biter prey"),
    ("rabbit", "토끼", "pet small land coat herb jumper prey playful"),
    ("horse", "말", "farm land coat herb rideable weighty"),
    ("cow", "소", "farm land herb weighty"),
    ("pig", "돼지", "farm land omni weighty"),
    ("sheep", "양", "farm land coat herb prey"),
    ("chicken", "닭", "farm land omni prey"),
    ("duck", "오리", "farm land swims flies omni prey water"),
    ("goose", "거위", "farm land swims omni water"),
    ("tiger", "호랑이", "wild land coat carn hunter biter swims"),
    ("lion", "사자", "wild land coat carn hunter biter"),
    ("bear", "곰", "wild land coat omni swims climber biter weighty"),
    ("monkey", "원숭이", "wild land omni climber jumper smart playful"),
    ("elephant", "코끼리", "wild land herb rideable swims weighty"),
    ("fox", "여우", "wild land coat carn hunter biter"),
    ("wolf", "늑대", "wild land coat carn hunter biter"),
    ("deer", "사슴", "wild land herb jumper prey"),
    ("giraffe", "기린", "wild land herb"),
    ("snake", "뱀", "wild carn biter swims long"),
    ("frog", "개구리", "small swims jumper prey water"),
    ("turtle", "거북이", "small land swims herb water"),
    ("penguin", "펭귄", "land swims carn"),
    ("dolphin", "돌고래", "sea swims carn smart playful"),
    ("whale", "고래", "sea swims carn weighty"),
    ("bee", "벌", "insect small flies"),
    ("butterfly", "나비", "insect small flies pretty"),
])

# plant_food / meat_food / omni_food: what herbivores, carnivores and omnivores eat (omnivores eat all three)
FOOD = _nouns("food buyable", "개", [
    ("apple", "사과", "fruit plant_food red washable cuttable fresh round sweet small"),
    ("banana", "바나나", "fruit plant_food yellow sweet"),
    ("orange", "오렌지", "fruit plant_food round sweet cuttable"),
    ("strawberry", "딸기", "fruit plant_food red sweet washable fresh small"),
    ("watermelon", "수박", "fruit plant_food round cuttable sweet weighty"),
    ("peach", "복숭아", "fruit plant_food sweet washable"),
    ("lemon", "레몬", "fruit plant_food yellow cuttable"),
    ("tomato", "토마토", "vegetable plant_food red washable cookable fresh"),
    ("potato", "감자", "vegetable plant_food washable cookable"),
    ("carrot", "당근", "vegetable plant_food washable cookable fresh long"),
    ("cucumber", "오이", "vegetable plant_food washable fresh long"),
    ("corn", "옥수수", "vegetable plant_food cookable yellow", {"article": "mass"}),
    ("egg", "달걀", "omni_food cookable round small"),
    ("bread", "빵", "omni_food baked makeable cuttable fresh", {"article": "mass"}),
    ("rice", "밥", "meal cookable hot", {"article": "mass"}),
    ("soup", "국", "meal cookable hot salty spicy warm", {"article": "mass"}),
    ("cake", "케이크", "sweet baked makeable cuttable"),
    ("cookie", "쿠키", "sweet baked makeable small round"),
    ("sandwich", "샌드위치", "meal makeable"),
    ("pizza", "피자", "meal makeable cuttable hot round"),
    ("salad", "샐러드", "meal makeable fresh", {"article": "mass"}),
    ("fish", "생선", "meat_food meal cookable fresh", {"counter": "마리"}),
    ("meat", "고기", "meat_food cookable fresh", {"article": "mass"}),
    ("cheese", "치즈", "omni_food cuttable salty", {"article": "mass"}),
    ("candy", "사탕", "sweet small"),
    ("chocolate", "초콜릿", "sweet", {"article": "mass"}),
    ("ice cream", "아이스크림", "sweet cold", {"article": "mass"}),
    ("kimchi", "김치", "spicy salty makeable", {"article": "mass"}),
    ("dumpling", "만두", "meal makeable hot cookable"),
])

# grass is food for cows and sheep only (no "food" tag: people do not eat it)
GRASS = [Noun("grass", "풀", frozenset({"plant_food"}), article="mass")]

DRINKS = _nouns("beverage buyable", "", [
    ("water", "물", "animal_drink cold", {"article": "mass"}),
    ("milk", "우유", "animal_drink cold warm fresh", {"article": "mass"}),
    ("coffee", "커피", "hot cold", {"article": "mass"}),
    ("tea", "차", "hot warm", {"article": "mass"}),
    ("juice", "주스", "cold sweet", {"article": "mass"}),
    ("cola", "콜라", "cold sweet", {"article": "mass"}),
])

THINGS = _nouns("thing", "개", [
    ("book", "책", "concrete readable small buyable borrowable losable mood weighty", {"counter": "권"}),
    ("newspaper", "신문", "concrete readable buyable", {"counter": "부"}),
    ("letter", "편지", "concrete readable writable sendable", {"counter": "통"}),
    ("map", "지도", "concrete readable drawable buyable", {"counter": "장"}),
    ("picture", "그림", "concrete drawable buyable pretty", {"counter": "장"}),
    ("photo", "사진", "concrete sendable", {"counter": "장"}),
    ("ticket", "표", "concrete buyable losable small", {"counter": "장"}),
    ("gift", "선물", "concrete sendable buyable"),
    ("pen", "펜", "concrete writing_tool drawing_tool small buyable losable borrowable", {"counter": "자루"}),
    ("pencil", "연필", "concrete writing_tool drawing_tool small buyable borrowable long",
     {"counter": "자루"}),
    ("brush", "붓", "concrete drawing_tool small", {"counter": "자루"}),
    ("knife", "칼", "concrete knife small dish", {"counter": "자루"}),
    ("spoon", "숟가락", "concrete cutlery small washable dish"),
    ("fork", "포크", "concrete cutlery small washable dish"),
    ("bag", "가방", "concrete container openable colorable buyable losable carryable weighty "
     "has:thing+small"),
    ("box", "상자", "concrete container openable carryable pushable makeable weighty has:thing+small "
     "has:animal+small+pet"),
    ("bottle", "병", "concrete container openable breakable has:beverage"),
    ("cup", "컵", "concrete container breakable washable small dish has:beverage"),
    ("plate", "접시", "concrete surface breakable washable round dish has:food", {"prep": "on"}),
    ("chair", "의자", "concrete furniture surface seat carryable pushable fixable makeable weighty "
     "has:thing+small has:animal+small+pet",
     {"prep": "on"}),
    ("desk", "책상", "concrete furniture surface carryable weighty has:thing+small", {"prep": "on"}),
    ("table", "탁자", "concrete furniture surface carryable pushable makeable weighty has:thing+small "
     "has:food has:animal+small+pet", {"prep": "on"}),
    ("bed", "침대", "concrete furniture surface seat sleep weighty has:thing+small has:animal+pet has:baby"),
    ("sofa", "소파", "concrete furniture surface seat weighty has:person has:animal+pet has:thing+small",
     {"prep": "on"}),
    ("door", "문", "concrete openable fixable pushable colorable"),
    ("window", "창문", "concrete openable breakable"),
    ("key", "열쇠", "concrete small losable findable"),
    ("phone", "전화기", "concrete small fixable losable buyable findable"),
    ("computer", "컴퓨터", "concrete fixable buyable weighty"),
    ("clock", "시계", "concrete fixable buyable round"),
    ("umbrella", "우산", "concrete colorable losable buyable borrowable long"),
    ("hat", "모자", "concrete colorable buyable losable small"),
    ("shirt", "셔츠", "concrete clothing colorable buyable"),
    ("coat", "코트", "concrete clothing colorable buyable warm long"),
    ("dress", "원피스", "concrete clothing colorable buyable pretty long"),
    ("sweater", "스웨터", "concrete clothing colorable buyable warm"),
    ("ball", "공", "concrete toy ball throwable round small colorable buyable findable"),
    ("toy", "장난감", "concrete toy small buyable findable makeable"),
    ("doll", "인형", "concrete toy small buyable pretty makeable findable"),
    ("flower", "꽃", "concrete plant pretty buyable colorable", {"counter": "송이"}),
    ("tree", "나무", "concrete plant climbable", {"counter": "그루"}),
    ("money", "돈", "concrete losable findable borrowable", {"article": "mass"}),
    ("homework", "숙제", "doable", {"article": "mass"}),
    ("song", "노래", "song media mood", {"counter": "곡"}),
    ("music", "음악", "media subject", {"article": "bare"}),
    ("story", "이야기", "readable writable media mood", {"counter": ""}),
    ("email", "이메일", "readable writable sendable", {"counter": ""}),
    ("radio", "라디오", "concrete media fixable buyable"),
    ("movie", "영화", "screen mood", {"counter": "편"}),
    ("television", "텔레비전", "screen", {"article": "bare"}),
    ("piano", "피아노", "concrete instrument furniture weighty"),
    ("guitar", "기타", "concrete instrument buyable"),
])

VEHICLES = _nouns("thing concrete vehicle", "대", [
    ("car", "자동차", "drivable ground fixable colorable pushable buyable"),
    ("bus", "버스", "drivable rideable ground public stop colorable"),
    ("bicycle", "자전거", "rideable ground fixable colorable buyable borrowable"),
    ("train", "기차", "rideable ground public stop long"),
    ("airplane", "비행기", "rideable air"),
    ("taxi", "택시", "drivable rideable ground public stop"),
    ("subway", "지하철", "rideable ground public", {"counter": ""}),
])

SUBJECTS = _nouns("subject", "", [
    ("math", "수학", "", {"article": "bare"}),
    ("English", "영어", "", {"article": "bare"}),
    ("science", "과학", "", {"article": "bare"}),
    ("history", "역사", "", {"article": "bare"}),
    ("art", "미술", "", {"article": "bare"}),
    ("Korean", "한국어", "", {"article": "bare"}),
])

# activity tags say what happens there (their verb's `place`); has:X = nouns matching the tag pattern X
# can be there (also on containers and furniture); home_X = where X animals (or people) live;
# dest = one goes there
PLACES = _nouns("place", "", [
    ("school", "학교", "indoor dest enter study teach work eat meet visit build has:person", {"prep": "at"}),
    ("library", "도서관", "indoor dest enter read write study work meet borrow build has:person has:readable",
     {"prep": "at"}),
    ("park", "공원", "outdoor scenic dest walk run play eat meet see rest draw dance sing exercise fall "
     "planting "
     "has:person has:pet has:flies"),
    ("house", "집", "indoor dest enter eat drink sleep read write study cook rest watch listen make "
     "home_person home_pet build clean stay leave has:person has:pet has:thing+small has:food has:furniture"),
    ("restaurant", "식당", "indoor dest enter eat drink cook work meet talk has:person has:meal",
     {"prep": "at"}),
    ("kitchen", "부엌", "indoor enter cook eat drink wash make clean has:person has:pet has:food "
     "has:thing+small"),
    ("market", "시장", "outdoor dest buy sell work see has:person has:food", {"prep": "at"}),
    ("hospital", "병원", "indoor dest enter work sleep rest wait visit build has:person", {"prep": "at"}),
    ("office", "사무실", "indoor dest enter work read write talk clean has:person has:thing+small"),
    ("river", "강", "outdoor scenic long dest swim home_water has:water"),
    ("sea", "바다", "outdoor scenic dest swim home_sea has:sea"),
    ("beach", "해변", "outdoor scenic dest walk run play rest see has:person has:pet", {"prep": "on"}),
    ("garden", "정원", "outdoor scenic dest play walk work draw rest planting see has:person has:pet "
     "has:flies "
     "has:plant"),
    ("room", "방", "indoor enter sleep read write study dance sing rest listen watch talk clean "
     "has:person has:pet has:thing+small has:furniture"),
    ("classroom", "교실", "indoor enter study teach read write draw sing talk clean has:person "
     "has:thing+small"),
    ("store", "가게", "indoor dest enter buy sell work has:person has:food", {"prep": "at"}),
    ("bakery", "빵집", "indoor dest enter buy sell work make has:person has:baked", {"prep": "at"}),
    ("cafe", "카페", "indoor dest enter eat drink read write study meet talk work wait has:person",
     {"prep": "at"}),
    ("zoo", "동물원", "outdoor dest visit work see home_wild has:person has:wild", {"prep": "at"}),
    ("station", "역", "dest wait arrive meet see has:person has:stop", {"prep": "at"}),
    ("airport", "공항", "dest wait work arrive has:person has:air", {"prep": "at"}),
    ("farm", "농장", "outdoor dest work visit planting see home_farm has:person has:farm", {"prep": "on"}),
    ("forest", "숲", "outdoor scenic dest walk run see home_wild has:wild has:flies has:person"),
    ("mountain", "산", "outdoor scenic dest climbable walk home_wild has:wild has:person", {"prep": "on"}),
    ("street", "거리", "outdoor walk run wait fall see has:person has:pet has:drivable", {"prep": "on"}),
    ("playground", "놀이터", "outdoor dest play run fall has:person"),
    ("museum", "박물관", "indoor dest enter visit work draw see build has:person", {"prep": "at"}),
    ("bank", "은행", "indoor dest enter work build has:person", {"prep": "at"}),
    ("post office", "우체국", "indoor dest enter work has:person", {"prep": "at"}),
    ("hotel", "호텔", "indoor dest enter work sleep rest stay arrive leave build has:person", {"prep": "at"}),
    ("pool", "수영장", "dest swim exercise has:person"),
    ("gym", "체육관", "indoor dest enter exercise run dance work has:person"),
    ("theater", "극장", "indoor dest enter watch dance sing work has:person", {"prep": "at"}),
    ("city", "도시", "outdoor dest home_person visit stay leave arrive far has:person"),
    ("village", "마을", "outdoor scenic dest home_person visit stay leave has:person"),
    ("lake", "호수", "outdoor scenic dest swim home_water has:water"),
    ("island", "섬", "outdoor scenic dest home_person visit stay leave far has:person", {"prep": "on"}),
])
# the sky hosts flying but is no place one goes to, lives in, or calls far
SKY = [Noun("sky", "하늘", frozenset("outdoor scenic colorable fly has:flies".split()))]

ALL_NOUNS = PEOPLE + ANIMALS + FOOD + GRASS + DRINKS + THINGS + VEHICLES + SUBJECTS + PLACES + SKY
NOUNS: dict[str, Noun] = {n.en: n for n in ALL_NOUNS}

PRONOUNS: dict[str, Pronoun] = {p.en: p for p in [
    Pronoun("I", "me", "저", 1, False),
    Pronoun("he", "him", "그", 3, False),
    Pronoun("she", "her", "그녀", 3, False),
    Pronoun("we", "us", "우리", 1, True),
    Pronoun("they", "them", "그들", 3, True),
]}


# --- verbs ------------------------------------------------------------------------------------------

def _v(id: str, en: str, ko: str, frames: list[tuple[str, ...]], **options) -> Verb:
    return Verb(id, en, ko, tuple(Frame(*f) for f in frames), **options)


ABLE = "person+able"
TRANSITIVE_VERBS = [
    _v("eat", "eat", "먹다", [("person", "food"), ("animal+herb", "plant_food"), ("animal+carn", "meat_food"),
                              ("animal+omni", "plant_food | meat_food | omni_food")],
       place="eat", tool="cutlery", companion=True),
    _v("drink", "drink", "마시다", [("person", "beverage"), ("animal+land", "animal_drink")],
       place="drink", companion=True),
    _v("cook", "cook", "요리하다", [("person+adult", "cookable")], object_optional=True, place="cook",
       split="요리"),
    _v("buy", "buy", "사다", [(ABLE, "buyable")], place="buy", companion=True),
    _v("sell", "sell", "팔다", [("person+adult", "buyable")], place="sell"),
    _v("read", "read", "읽다", [(ABLE, "readable")], object_optional=True, place="read"),
    _v("write", "write", "쓰다", [(ABLE, "writable")], object_optional=True, place="write",
       tool="writing_tool"),
    _v("see", "see", "보다", [(ABLE, "animal | vehicle | plant | person+able"),
                             ("animal+land", "person | animal")],
       place="see"),
    _v("watch", "watch", "보다", [(ABLE, "screen")], place="watch", companion=True),
    _v("like", "like", "좋아하다", [(ABLE, "food | beverage | animal | toy | media | subject | screen"),
                                  ("animal+pet", "person+able | toy")],
       definite=True),
    _v("love", "love", "사랑하다", [(ABLE, "person | animal+pet")], split="사랑", definite=True),
    _v("hate", "hate", "싫어하다", [(ABLE, "food | beverage | animal | subject"),
                                  ("animal+pet", "animal+pet")],
       definite=True),
    _v("make", "make", "만들다", [(ABLE, "makeable")], place="make"),
    _v("build", "build", "짓다", [("person+adult", "build")], irregular="ㅅ"),
    _v("open", "open", "열다", [(ABLE, "openable")]),
    _v("close", "close", "닫다", [(ABLE, "openable")]),
    _v("wash", "wash", "씻다", [(ABLE, "washable")], place="wash"),
    _v("clean", "clean", "청소하다", [(ABLE, "clean")], split="청소"),
    _v("find", "find", "찾다", [(ABLE, "findable | animal+pet"), ("animal+barks", "ball | toy")]),
    _v("lose", "lose", "잃어버리다", [(ABLE, "losable")]),
    _v("carry", "carry", "나르다", [("person+adult", "carryable")]),
    _v("throw", "throw", "던지다", [(ABLE, "throwable")], place="play"),
    _v("catch", "catch", "잡다", [(ABLE, "ball | prey+small"), ("animal+hunter", "prey")]),
    _v("kick", "kick", "차다", [(ABLE, "ball")], place="play"),
    _v("draw", "draw", "그리다", [(ABLE, "drawable | animal | plant")], object_optional=True, place="draw",
       tool="drawing_tool"),
    _v("sing", "sing", "부르다", [(ABLE, "song")], place="sing"),
    _v("listen", "listen", "듣다", [("person", "media")], irregular="ㄷ", prep="to", place="listen"),
    _v("help", "help", "돕다", [(ABLE, "person")], irregular="ㅂ"),
    _v("meet", "meet", "만나다", [(ABLE, "person+able")], place="meet"),
    _v("visit", "visit", "방문하다", [("person+adult", "visit | person+adult")], split="방문",
       companion=True),
    _v("teach", "teach", "가르치다", [("person+adult", "subject | song")], place="teach"),
    _v("study", "study", "공부하다", [(ABLE, "subject")], object_optional=True, place="study", companion=True,
       split="공부"),
    _v("learn", "learn", "배우다", [(ABLE, "subject | song")], place="study"),
    _v("know", "know", "알다", [(ABLE, "person")], negative="모르다", tenses=("present", "past"),
       timed=False),
    _v("drive", "drive", "운전하다", [("person+adult", "drivable")], split="운전"),
    _v("ride", "ride", "타다", [(ABLE, "rideable")]),
    _v("wear", "wear", "입다", [("person", "clothing")]),
    _v("bring", "bring", "가져오다", [(ABLE, "thing+small | food | beverage | gift")]),
    _v("send", "send", "보내다", [(ABLE, "sendable")]),
    _v("receive", "receive", "받다", [("person", "sendable")]),
    _v("wait", "wait", "기다리다", [("person", "person | public")], prep="for", object_optional=True,
       place="wait"),
    _v("chase", "chase", "쫓다", [("animal+hunter", "prey"), ("person+young", "prey | animal+pet")]),
    _v("bite", "bite", "물다", [("animal+biter", "person | prey"), ("animal+barks", "ball | toy")]),
    _v("cut", "cut", "자르다", [(ABLE, "cuttable")], tool="knife"),
    _v("fix", "fix", "고치다", [("person+adult", "fixable")]),
    _v("break", "break", "깨다", [("person", "breakable")]),
    _v("push", "push", "밀다", [(ABLE, "pushable")]),
    _v("plant", "plant", "심다", [(ABLE, "plant")], place="planting"),
    _v("play_music", "play", "치다", [(ABLE, "instrument")]),
    _v("hug", "hug", "안다", [("person", "person | animal+pet | toy")]),
    _v("borrow", "borrow", "빌리다", [(ABLE, "borrowable")], place="borrow"),
    _v("climb", "climb", "오르다", [("person+able | animal+climber", "climbable")], case="에"),
    _v("enter", "enter", "들어가다", [("person | animal+pet", "enter")], case="에"),
    _v("leave", "leave", "떠나다", [(ABLE, "leave")]),
    _v("go", "go", "가다", [(ABLE, "dest")], prep="to", case="에", vehicle=True, companion=True),
    _v("come", "come", "오다", [(ABLE, "dest")], prep="to", case="에", vehicle=True, companion=True),
    _v("arrive", "arrive", "도착하다", [(ABLE, "arrive")], prep="at", case="에", split="도착"),
    _v("do", "do", "하다", [(ABLE, "doable")]),
    _v("sit", "sit", "앉다", [("person | animal+pet", "seat")], prep="on", case="에", object_optional=True),
    _v("live", "live", "살다", [("person", "home_person"), ("animal+wild", "home_wild"),
                               ("animal+farm", "home_farm"), ("animal+sea", "home_sea"),
                               ("animal+pet", "home_pet"), ("animal+water", "home_water")],
       prep="LOC", case="에", timed=False),
    _v("stay", "stay", "머무르다", [(ABLE, "stay")], prep="LOC", case="에"),
]

INTRANSITIVE_VERBS = [
    _v("sleep", "sleep", "자다", [("person | animal",)], place="sleep"),
    _v("run", "run", "달리다", [("person+able | animal+land",)], place="run"),
    _v("walk", "walk", "걷다", [("person+able | animal+land",)], irregular="ㄷ", place="walk",
       companion=True),
    _v("swim", "swim", "수영하다", [("person+able | animal+swims",)], place="swim", split="수영"),
    _v("fly", "fly", "날다", [("animal+flies",)], place="fly"),
    _v("jump", "jump", "뛰다", [("person+able | animal+jumper",)]),
    _v("dance", "dance", "춤을 추다", [(ABLE,)], place="dance", companion=True),
    _v("cry", "cry", "울다", [("person",)]),
    _v("laugh", "laugh", "웃다", [("person",)]),
    _v("work", "work", "일하다", [("person+adult",)], place="work", companion=True, split="일"),
    _v("rest", "rest", "쉬다", [("person | animal+land",)], place="rest"),
    _v("play", "play", "놀다", [("person+young | animal+playful",)], place="play", companion=True),
    _v("exercise", "exercise", "운동하다", [(ABLE,)], place="exercise", companion=True, split="운동"),
    _v("wake_up", "wake up", "일어나다", [("person | animal",)]),
    _v("fall", "fall", "넘어지다", [(ABLE,)], place="fall"),
    _v("bark", "bark", "짖다", [("animal+barks",)]),
    _v("travel", "travel", "여행하다", [("person+adult",)], vehicle=True, companion=True, split="여행"),
    _v("talk", "talk", "이야기하다", [(ABLE,)], place="talk", companion=True, split="이야기"),
]

VERBS: dict[str, Verb] = {v.id: v for v in TRANSITIVE_VERBS + INTRANSITIVE_VERBS}


# --- adjectives -------------------------------------------------------------------------------------

SIZED = "animal+land | animal+sea | concrete | fruit | place"
COLORED = "colorable"
PLACE_OR_THING = "place+indoor | clothing | furniture | vehicle | container | dish"
ADJECTIVES: dict[str, Adjective] = {a.en: a for a in [
    Adjective("big", "크다", SIZED),
    Adjective("small", "작다", SIZED),
    Adjective("red", "빨갛다", COLORED + " | red", irregular="ㅎ"),
    Adjective("yellow", "노랗다", COLORED + " | yellow", irregular="ㅎ"),
    Adjective("blue", "파랗다", COLORED, irregular="ㅎ"),
    Adjective("white", "하얗다", COLORED + " | coat", irregular="ㅎ"),
    Adjective("black", "까맣다", COLORED + " | coat", irregular="ㅎ"),
    Adjective("cute", "귀엽다", "baby | person+young | animal+small | animal+pet | toy", irregular="ㅂ"),
    Adjective("long", "길다", "long"),
    Adjective("short", "짧다", "long"),
    Adjective("delicious", "맛있다", "food | beverage", negative="맛없다"),
    Adjective("spicy", "맵다", "spicy", irregular="ㅂ"),
    Adjective("sweet", "달다", "sweet"),
    Adjective("salty", "짜다", "salty"),
    Adjective("hot", "뜨겁다", "hot", irregular="ㅂ", state=True),
    Adjective("cold", "차갑다", "cold", irregular="ㅂ", state=True),
    Adjective("warm", "따뜻하다", "warm | place+indoor", state=True),
    Adjective("fresh", "신선하다", "fresh", state=True),
    Adjective("heavy", "무겁다", "weighty", irregular="ㅂ"),
    Adjective("light", "가볍다", "weighty", irregular="ㅂ"),
    Adjective("expensive", "비싸다", "buyable"),
    Adjective("cheap", "싸다", "buyable"),
    Adjective("pretty", "예쁘다", "pretty"),
    Adjective("beautiful", "아름답다", "pretty | song | scenic", irregular="ㅂ"),
    Adjective("kind", "친절하다", "person+able"),
    Adjective("smart", "똑똑하다", "person+able | smart"),
    Adjective("happy", "행복하다", "person+able | animal+pet", state=True),
    Adjective("sad", "슬프다", "person+able | mood", state=True),
    Adjective("tired", "피곤하다", "person+able", state=True),
    Adjective("hungry", "배고프다", "person | animal+land", state=True),
    Adjective("full", "배부르다", "person | animal+land", state=True),
    Adjective("busy", "바쁘다", "person+adult", state=True),
    Adjective("sick", "아프다", "person | animal+land", state=True),
    Adjective("lazy", "게으르다", "person+able | animal+pet"),
    Adjective("young", "젊다", "person+adult"),
    Adjective("fast", "빠르다", "person+able | animal+land | vehicle"),
    Adjective("slow", "느리다", "person+able | animal+land | vehicle"),
    Adjective("quiet", "조용하다", "person+able | place+indoor", state=True),
    Adjective("noisy", "시끄럽다", "person+young | place | animal+farm", irregular="ㅂ", state=True),
    Adjective("clean", "깨끗하다", PLACE_OR_THING, state=True),
    Adjective("dirty", "더럽다", PLACE_OR_THING, irregular="ㅂ", state=True),
    Adjective("strong", "강하다", "person+adult | animal+wild"),
    Adjective("dark", "어둡다", "place", irregular="ㅂ", state=True),
    Adjective("bright", "밝다", "place+indoor", state=True),
    Adjective("far", "멀다", "place"),
    Adjective("close", "가깝다", "place", irregular="ㅂ"),
    Adjective("famous", "유명하다", "job | place | mood"),
    Adjective("funny", "재미있다", "person+able | mood", negative="재미없다"),
    Adjective("boring", "지루하다", "mood | subject"),
    Adjective("difficult", "어렵다", "subject | doable", irregular="ㅂ"),
    Adjective("easy", "쉽다", "subject | doable", irregular="ㅂ"),
    Adjective("good", "좋다", "person+able | animal+pet | mood"),
    Adjective("round", "둥글다", "round"),
]}


# --- time words and numbers ---------------------------------------------------------------------------

TIME_WORDS: dict[str, TimeWord] = {t.en: t for t in [
    TimeWord("yesterday", "어제", "past"),
    TimeWord("last night", "어젯밤에", "past"),
    TimeWord("last week", "지난주에", "past"),
    TimeWord("today", "오늘", "present"),
    TimeWord("every day", "매일", "present"),
    TimeWord("tomorrow", "내일", "future"),
    TimeWord("tonight", "오늘 밤에", "future"),
    TimeWord("next week", "다음 주에", "future"),
]}

# numbers used in sentences; their words come from english.number_word and korean.native_number
NUMBERS: tuple[int, ...] = tuple(range(1, 11))
