"""Name pools per locale with heavy-tailed (Zipf-Mandelbrot) frequencies.

Real name frequencies are very skewed: in Israel, Russia, the UK or the US
the most common surname is carried by about one person in a hundred and the
most common forename by a few in a hundred, followed by a long tail of rare
names. That skew is what makes "same name, different person" common at
scale, so each pool here is a ranked list (most frequent first; a curated
head plus a generated tail of plausible rare names) with Zipf-Mandelbrot
weights solved so that the top name has a realistic share.

Every name carries the forms it is really written in: Latin spellings
(several competing transliterations), its own script (Hebrew, Cyrillic,
Arabic), a Hebrew-letter form for names written by Israeli systems, and
diminutives (Sasha, Yossi, Bill) with their own forms.

Locales: ``he`` (Jewish Israeli), ``ar`` (Arab Israeli), ``ru_il``
(Russian-speaking Israeli), ``ru`` (Russia), ``ua`` (Ukraine), ``gb``, ``us``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np

from api.worlds.harder.script import cyrillic_hebrew, cyrillic_latin_forms

__all__ = [
    "LOCALES",
    "LocalePools",
    "Name",
    "Pool",
    "Short",
    "locale_pools",
    "zipf_mandelbrot",
]

LOCALES = ("he", "ar", "ru_il", "ru", "ua", "gb", "us")


@dataclass(frozen=True, slots=True)
class Short:
    """A diminutive or nickname (Sasha, Yossi, Bill) in the forms it is written."""

    latin: tuple[str, ...]
    native: str = ""
    hebrew: str = ""


@dataclass(frozen=True, slots=True)
class Name:
    """One forename or surname and every form it is written in."""

    key: str
    """Canonical lower-case Latin form: the name's identity in statistics."""
    latin: tuple[str, ...]
    """Latin spellings, the most common first."""
    native: str = ""
    """The name in its own script (Hebrew, Cyrillic, Arabic); empty for English names."""
    hebrew: str = ""
    """Hebrew-letter form (for names of Arab and Russian-speaking Israelis)."""
    arabic: str = ""
    alt_native: str = ""
    """Another own-script form: the Russian form of a Ukrainian name (Олександр ~ Александр)."""
    short: tuple[Short, ...] = ()


@dataclass(frozen=True, slots=True)
class Pool:
    """A ranked list of names with Zipf-Mandelbrot probabilities."""

    names: tuple[Name, ...]
    probabilities: np.ndarray
    feminine: tuple[Name, ...] = ()
    """For surnames with gendered forms (Ivanov / Ivanova): aligned with ``names``."""
    _cumulative: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Cache the cumulative probabilities for drawing."""
        object.__setattr__(self, "_cumulative", np.cumsum(self.probabilities))

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` name indices drawn by frequency."""
        index = np.searchsorted(self._cumulative, rng.random(n) * self._cumulative[-1], "right")
        return np.asarray(np.minimum(index, len(self.names) - 1), dtype=np.int64)

    def form(self, index: int, *, female: bool) -> Name:
        """The name at ``index``; a surname's feminine form for women where it has one."""
        if female and self.feminine:
            return self.feminine[index]
        return self.names[index]


@dataclass(frozen=True, slots=True)
class LocalePools:
    """Forenames by sex and surnames of one locale."""

    male: Pool
    female: Pool
    surnames: Pool


def zipf_mandelbrot(n: int, top_share: float, *, q: float = 4.0) -> np.ndarray:
    """Name probabilities: a steep Zipf-Mandelbrot head over a flat tail, top name at ``top_share``.

    ``p_k = m / (k + q) / H + (1 - m) / n`` with the mixing weight ``m``
    solved so that the top name has ``top_share``. Real surname lists have a
    steep head (Smith, then Jones at ~80 %) and a tail of many thousands of
    rare names; with a few hundred names per pool, the flat part stands in
    for that tail (every name stays reasonably rare).

    Examples:
        >>> p = zipf_mandelbrot(500, 0.012)
        >>> round(float(p[0]), 4), round(float(p.sum()), 6), bool(p[0] > p[5] > p[100] >= p[-1])
        (0.012, 1.0, True)
    """
    ranks = np.arange(1, n + 1, dtype=np.float64)
    head = 1.0 / (ranks + q)
    head /= head.sum()
    uniform = 1.0 / n
    mix = min(1.0, max(0.0, (top_share - uniform) / (head[0] - uniform)))
    p = mix * head + (1.0 - mix) * uniform
    return np.asarray(p / p.sum(), dtype=np.float64)


# --- Hebrew (Jewish Israeli) ---------------------------------------------------------------
# native|Latin spellings|diminutive native:Latin/Latin;...

_HE_MALE = """
יוסף|Yosef,Yossef,Josef,Joseph,Yoseph|יוסי:Yossi/Yosi
דוד|David,Dovid|דודו:Dudu;דודי:Dudi
משה|Moshe,Moishe,Moses|מושיקו:Moshiko
אברהם|Avraham,Abraham,Avrahm|אבי:Avi
יעקב|Yaakov,Yakov,Jacob,Yaacov,Ya'akov|קובי:Kobi/Koby;יענקל:Yankel
יצחק|Yitzhak,Itzhak,Yitzchak,Isaac,Itzchak|איציק:Itzik;צחי:Tzachi/Tsahi
דניאל|Daniel|דני:Dani/Danny
מיכאל|Michael,Mikhael,Michel|מיקי:Miki/Mickey
שמואל|Shmuel,Samuel,Shmoel|שמוליק:Shmulik;שמולי:Shmuli
מרדכי|Mordechai,Mordehai,Mordekhai|מוטי:Moti/Motti
אליהו|Eliyahu,Eliahu,Eliyau|אלי:Eli
ארי|Ari|
נועם|Noam|
איתי|Itai,Itay,Ittai|
עומר|Omer|
יונתן|Yonatan,Jonathan,Yehonatan|יוני:Yoni
בנימין|Binyamin,Benjamin,Binjamin|בני:Benny/Beni
חיים|Haim,Chaim,Hayim,Khaim|
אריאל|Ariel|אריק:Arik
אמיר|Amir|
אייל|Eyal,Eial|
אורן|Oren|
רון|Ron|רוני:Roni/Ronny
גיא|Guy,Gai|
טל|Tal|
ניר|Nir|
אורי|Uri,Ori|
גיל|Gil|
עידו|Ido,Iddo|
יאיר|Yair|
רועי|Roei,Roy,Roi|
עמית|Amit|
ליאור|Lior|
אופיר|Ofir,Ophir|
אסף|Asaf,Assaf|
ארז|Erez|
שי|Shai,Shay|
יובל|Yuval|
איתן|Eitan,Etan,Eytan|
אלון|Alon|
אילן|Ilan|
יהודה|Yehuda,Yehudah,Judah|
שמעון|Shimon,Simon,Shimeon|שימי:Shimi
יהושע|Yehoshua,Joshua|שוקי:Shuki
אהרון|Aharon,Aaron|
תומר|Tomer|
נדב|Nadav|
איתמר|Itamar|
מתן|Matan|
אוהד|Ohad|
רז|Raz|
שגיא|Sagi|
דור|Dor|
אלעד|Elad|
עידן|Idan|
נתנאל|Netanel,Natanel,Nethanel|נתי:Nati
אבישי|Avishai,Avishay|
אבנר|Avner|
בועז|Boaz|
דורון|Doron|
גדי|Gadi|
חנן|Hanan,Chanan|
מנחם|Menachem,Menahem|מני:Meni/Menny
מאיר|Meir,Meyer|
ניסים|Nissim,Nisim|
עופר|Ofer,Opher|
רפאל|Rafael,Refael,Raphael|רפי:Rafi
ראובן|Reuven,Reuben,Ruben|רובי:Ruvi
שלמה|Shlomo,Solomon|שלומי:Shlomi
צבי|Tzvi,Zvi,Tsvi|צביקה:Tzvika/Zvika
יגאל|Yigal,Igal|
זאב|Zeev,Ze'ev|זאביק:Zevik
אפרים|Ephraim,Efraim|
גדעון|Gideon,Gidon|גידי:Gidi
אמנון|Amnon|
דב|Dov|דובי:Dubi
יואב|Yoav|
נחום|Nahum,Nachum|
אליעזר|Eliezer|לייזר:Leizer
ישראל|Yisrael,Israel|שרוליק:Srulik
מתתיהו|Matityahu|מתי:Mati
אלחנן|Elhanan,Elchanan|
אביב|Aviv|
הראל|Harel|
אוריאל|Uriel|
אליאור|Elior|
ינון|Yinon|
אביאל|Aviel|
אושר|Osher|
הלל|Hillel,Hilel|
אלקנה|Elkana|
שחר|Shahar,Shachar|
טוביה|Tuvia,Tovia|
ברק|Barak|
אריה|Arie,Aryeh,Arieh|
פנחס|Pinchas,Pinhas|פיני:Pini
זכריה|Zecharia,Zacharia|
עזרא|Ezra|
שאול|Shaul,Saul|
עמוס|Amos|
נתן|Natan,Nathan|
עמרי|Omri|
ליאם|Liam|
נבו|Nevo|
עוז|Oz|
יוגב|Yogev|
ששון|Sasson|
אליה|Eliya,Elia|
יהלי|Yahli|
"""

_HE_FEMALE = """
נועה|Noa,Noah|
תמר|Tamar|תמי:Tami
מאיה|Maya,Maia|
שירה|Shira|
יעל|Yael,Jael,Iael|
מיכל|Michal,Mikhal|
שרה|Sarah,Sara|שרי:Sari
רחל|Rachel,Rahel|רחלי:Racheli
אסתר|Esther,Ester|אסתי:Esti
רבקה|Rivka,Rivca,Rebecca|ריקי:Riki
מרים|Miriam,Miryam|מירי:Miri
חנה|Hana,Hanna,Chana,Hannah|
לאה|Leah,Lea|
אורלי|Orly,Orli|
דנה|Dana|
טליה|Talia,Talya|
עדי|Adi|
נויה|Noya|
אביגיל|Avigail,Abigail|
אפרת|Efrat,Ephrat|
גלית|Galit|
הילה|Hila|
ענבל|Inbal|
קרן|Keren|
ליאת|Liat|
לימור|Limor|
מירב|Meirav,Merav|
נעמה|Naama,Na'ama|
אסנת|Osnat,Asnat|
רונית|Ronit|
סיגל|Sigal|
טלי|Tali|
יפעת|Yifat,Ifat|
זהבה|Zehava|
בת שבע|Batsheva,Bat-Sheva,Bathsheba|בתי:Bati
הדס|Hadas,Hadass|
מורן|Moran|
שני|Shani|
סיון|Sivan|
ירדן|Yarden|
רוני|Roni,Ronny|
נטע|Neta|
אלה|Ella,Ela|
אגם|Agam|
רומי|Romi|
ליהי|Lihi|
תהילה|Tehila,Tehilla|
הודיה|Hodaya|
איילה|Ayala|
רות|Ruth,Rut|
נעמי|Naomi,Noemi|
דבורה|Dvora,Devorah,Deborah|דבורי:Dvori
מלכה|Malka|
שושנה|Shoshana|שושי:Shoshi
טובה|Tova,Tovah|
אביבה|Aviva|
ציפורה|Tzipora,Zipora,Tsipora|ציפי:Tzipi/Tsipi
יהודית|Yehudit,Judith|דיתה:Dita
אילנה|Ilana|
ענת|Anat|
דלית|Dalit|
אורית|Orit|
שרון|Sharon|
סמדר|Smadar|
ורד|Vered|
יפה|Yaffa,Yafa|
שלומית|Shlomit|
חוה|Hava,Chava,Eva|
אלישבע|Elisheva|
נגה|Noga|
עינב|Einav|
מעיין|Maayan,Ma'ayan|
שקד|Shaked|
אושרת|Oshrat|
רעות|Reut,Re'ut|
אביטל|Avital|
ספיר|Sapir|
עדן|Eden|
הגר|Hagar|
ליטל|Lital|
שלי|Shelly,Sheli|
אתי|Eti,Etti|
מזל|Mazal|
סימה|Sima|
פנינה|Pnina|
נורית|Nurit|
דפנה|Dafna|
עינת|Einat|
מיטל|Meital,Maytal|
קרין|Karin|
אלינור|Elinor|
אביה|Aviya|
אורנה|Orna|
רינה|Rina|
"""

_HE_SURNAMES = """
כהן|Cohen,Kohen,Cohn,Kohn,Coen
לוי|Levi,Levy
מזרחי|Mizrahi,Mizrachi,Mizrahy
פרץ|Peretz,Perez,Perets
ביטון|Biton,Bitton
דהן|Dahan,Dahhan
אברהם|Avraham,Abraham
פרידמן|Friedman,Fridman
מלכה|Malka
אזולאי|Azoulay,Azulay,Azulai,Azoulai
כץ|Katz,Kats
יוסף|Yosef,Yossef,Josef
דוד|David
עמר|Amar,Ammar
אוחיון|Ohayon,Ohayun
חדד|Hadad,Haddad
גבאי|Gabay,Gabai,Gabbay
בן דוד|Ben David,Ben-David,Bendavid
אדלר|Adler
שפירא|Shapira,Shapiro
אשכנזי|Ashkenazi,Ashkenazy
סגל|Segal,Segall,Siegel
גולן|Golan
וקנין|Vaknin,Waknin,Vaknine
טל|Tal
שלום|Shalom
אלבז|Elbaz,Albaz
אביטן|Avitan,Abitan
בן שמעון|Ben Shimon,Ben-Shimon
ששון|Sasson,Sason
לוין|Levin,Lewin
קליין|Klein,Kline
וייס|Weiss,Vais,Weis
רוזנברג|Rosenberg,Rozenberg
גולדברג|Goldberg
גולדשטיין|Goldstein,Goldshtein
שוורץ|Schwartz,Shvartz,Schwarz,Shwartz
קפלן|Kaplan
יעקב|Yaakov,Yakov,Jacob
הלוי|Halevi,Halevy,Ha-Levi
ברוך|Baruch,Baruh
כרמי|Carmi,Karmi
נבון|Navon
ברק|Barak
שרון|Sharon
בן עמי|Ben Ami,Ben-Ami
הראל|Harel
מור|Mor
אורן|Oren
דיין|Dayan
זוהר|Zohar
צור|Tzur,Tsur,Zur
בר|Bar
אלון|Alon
נחום|Nahum,Nachum
מויאל|Moyal,Moial
אלקיים|Elkayam,Elkaim
סבג|Sabag,Sabbag
סבן|Saban
תורג'מן|Turgeman,Turjeman
בן עזרא|Ben Ezra,Ben-Ezra
זקן|Zaken
אדרי|Edri,Edry
בוסקילה|Buskila,Bouskila
סויסה|Suissa,Swisa,Swissa
אבוטבול|Abutbul,Aboutboul
יפרגן|Ifergan,Ifergane
בן חמו|Ben Hamo,Ben-Hamo
מלול|Malul,Maloul
טולדנו|Toledano
אמסלם|Amsalem,Amsellem
אטיאס|Attias,Atias
חזן|Hazan,Chazan,Hazzan
שטרית|Shitrit,Chetrit,Shetrit
רביבו|Revivo
דדון|Dadon
בן סימון|Ben Simon,Ben-Simon
זילברמן|Zilberman,Silberman
רבינוביץ|Rabinovich,Rabinovitz,Rabinowitz
כגן|Kagan,Kahan
הרשקוביץ|Hershkovitz,Herskovits,Hershkowitz
ברקוביץ|Berkovich,Berkovitz,Berkowitz
אלמוג|Almog
שמש|Shemesh
גרוס|Gross
לנדאו|Landau
רוזן|Rosen,Rozen
פישר|Fisher,Fischer
שטרן|Stern,Shtern
גרינברג|Greenberg,Grinberg
וולף|Wolf,Volf
הורוביץ|Horowitz,Horovitz
ליברמן|Liberman,Lieberman
אוחנה|Ohana
חביב|Haviv,Habib
נגר|Nagar
חסון|Hasson,Hason
בוזגלו|Bouzaglo,Buzaglo
אלמליח|Elmaleh,Almaliah,Elmalich
מימון|Maimon,Mimoun
אסולין|Assulin,Asulin,Assoulin
עזרא|Ezra
אהרון|Aharon,Aaron
גבריאל|Gabriel,Gavriel
רפאל|Rafael,Refael
שמואלי|Shmueli
יצחקי|Yitzhaki,Itzhaki
אליהו|Eliyahu,Eliahu
מרקוביץ|Markovich,Markovitz,Markowitz
פרלמן|Perlman,Pearlman
בירנבאום|Birnbaum
אייזנברג|Eisenberg,Aizenberg
וינברג|Weinberg,Vainberg
זלצמן|Zaltsman,Salzman
גורדון|Gordon
קרמר|Kramer
ברגר|Berger
שוחט|Shochat,Shohat
שמעוני|Shimoni
יונה|Yona,Jonah
נחמיאס|Nahmias,Nachmias
בכר|Bachar,Bahar
קורן|Koren,Coren
בן חיים|Ben Haim,Ben-Haim,Ben Chaim
רוזנטל|Rosenthal,Rozental
חיים|Haim,Chaim
ליבוביץ|Leibovich,Leibowitz,Leibovitz
טייב|Taieb,Tayeb
אפשטיין|Epstein,Epshtein
ברנשטיין|Bernstein,Bernshtein
מאיר|Meir,Meyer
לב|Lev
יחזקאל|Yehezkel,Ezekiel
עובדיה|Ovadia,Ovadya
שרעבי|Sharabi,Sharaby
צדוק|Tzadok,Zadok
בוחבוט|Buhbut,Bouhbout
אלוש|Alush,Aloush
קדוש|Kadosh
בלום|Blum,Bloom
גליק|Glick,Glik
פרנקל|Frankel,Frenkel
יוסופוב|Yusupov,Yusufov
גלעד|Gilad
רגב|Regev
ארבל|Arbel
עוז|Oz
ניסים|Nissim
אלפסי|Alfasi,Elfassi
ביטן|Bitan
בר-און|Bar-On,Baron,Bar On
בן ארי|Ben Ari,Ben-Ari
גל|Gal
שני|Shani
אבנרי|Avneri
פלג|Peleg
לביא|Lavi,Lavie
סלע|Sela,Selah
ארז|Erez
גלבוע|Gilboa
חרמון|Hermon
תמיר|Tamir
רז|Raz
עמית|Amit
רון|Ron
פז|Paz
דרור|Dror
קדם|Kedem
להב|Lahav
מאירי|Meiri
אופק|Ofek
רותם|Rotem
שלו|Shalev
יוגב|Yogev
זמיר|Zamir
כרמל|Carmel,Karmel
ניר|Nir
אשל|Eshel
שקד|Shaked
ירון|Yaron
בן טוב|Ben Tov,Ben-Tov
בן צבי|Ben Zvi,Ben-Zvi,Ben Tzvi
בן משה|Ben Moshe,Ben-Moshe
בן יוסף|Ben Yosef,Ben-Yosef
בן נתן|Ben Natan,Ben-Natan
בן נון|Ben Nun,Ben-Nun
בן ברוך|Ben Baruch,Ben-Baruch
בן שושן|Ben Shushan,Ben-Shushan
אברג'ל|Abergel,Abargel
כנפו|Knafo
בן לולו|Ben Lulu,Ben-Lulu
עמויאל|Amoyal
בן עטר|Ben Atar,Ben-Attar
מרציאנו|Marciano,Martziano
עזרן|Azran
בן הרוש|Ben Harush,Ben-Harosh
ניסן|Nisan,Nissan
אברהמי|Avrahami,Abrahami
יעקובי|Yaakobi,Jacobi
דנינו|Danino
דרעי|Deri,Dery
אלהרר|Elharar
לוגסי|Lugasi,Lugassy
בן שבת|Ben Shabat,Ben-Shabbat
חדידה|Hadida
זריהן|Zrihen,Zerihen
שושן|Shushan,Shoshan
לוינסון|Levinson
רובין|Rubin
קציר|Katzir,Kazir
ברזילי|Barzilai,Barzilay
יערי|Yaari
קמחי|Kimchi,Kimhi
צרפתי|Tzarfati,Sarfati,Zarfati
תימני|Temani,Teimani
"""

# Ashkenazi compound surnames (Gold+berg) make a long tail of rare names.
_HE_PREFIXES = [
    ("Gold", "גולד", ()), ("Rosen", "רוזנ", ("Rozen",)), ("Silber", "זילבר", ("Zilber",)),
    ("Wein", "וינ", ("Vain",)), ("Blum", "בלומ", ("Bloom",)), ("Green", "גרינ", ("Grin",)),
    ("Eisen", "אייזנ", ("Aizen",)), ("Fein", "פיינ", ("Fain",)), ("Roth", "רוט", ("Rot",)),
    ("Lieb", "ליב", ("Lib",)), ("Hirsch", "הירש", ("Hirsh",)), ("Mandel", "מנדל", ()),
    ("Stern", "שטרנ", ("Shtern",)), ("Apfel", "אפל", ("Apel",)), ("Kirsch", "קירש", ("Kirsh",)),
    ("Licht", "ליכט", ("Liht",)), ("Wasser", "וסר", ("Vasser",)), ("Zucker", "צוקר", ("Tsuker",)),
    ("Kessel", "קסל", ()), ("Morgen", "מורגנ", ()), ("Sonnen", "זוננ", ("Zonen",)),
    ("Tannen", "טננ", ()), ("Linden", "לינדנ", ()), ("Edel", "אדל", ()),
]  # fmt: skip
_HE_SUFFIXES = [
    ("berg", "ברג", ()), ("stein", "שטיין", ("shtein",)), ("man", "מן", ("mann",)),
    ("feld", "פלד", ()), ("baum", "באום", ("boim",)), ("thal", "טל", ("tal",)),
    ("blatt", "בלט", ("blat",)), ("zweig", "צווייג", ("tsveig",)), ("heim", "היים", ("haim",)),
]  # fmt: skip

# --- Arab Israeli: Hebrew|Arabic|Latin|diminutives heb:ar:Latin/Latin ------------------------

_AR_MALE = """
מוחמד|محمد|Mohammed,Muhammad,Mohamed,Mohammad,Muhammed,Mohamad|חמודי:حمودي:Hamoudi/Hamudi
אחמד|أحمد|Ahmad,Ahmed|
מחמוד|محمود|Mahmoud,Mahmud,Mahmood|
עלי|علي|Ali|
עומר|عمر|Omar,Umar|
יוסף|يوسف|Yousef,Yusuf,Youssef,Yosef|
איברהים|إبراهيم|Ibrahim,Ebrahim|
ח'אלד|خالد|Khaled,Khalid|
חסן|حسن|Hassan,Hasan|
חוסיין|حسين|Hussein,Hussain,Husein|
מוסטפא|مصطفى|Mustafa,Mostafa|
עבדאללה|عبد الله|Abdallah,Abdullah|עבד:عبد:Abed/Abd
סאמר|سامر|Samer|
ראמי|رامي|Rami|
פאדי|فادي|Fadi|
ויסאם|وسام|Wissam,Wisam|
נידאל|نضال|Nidal|
ג'מאל|جمال|Jamal,Gamal|
בילאל|بلال|Bilal|
חמזה|حمزة|Hamza,Hamzah|
כרים|كريم|Karim,Kareem|
מג'ד|مجد|Majd|
אמיר|أمير|Amir,Ameer|
טארק|طارق|Tareq,Tarek,Tariq|
אדם|آدم|Adam|
ריאן|ريان|Rayan,Rayyan|
אנס|أنس|Anas|
מוהנד|مهند|Mohannad,Muhannad|
סעיד|سعيد|Said,Saeed|
נאסר|ناصر|Nasser,Naser|
וליד|وليد|Walid,Waleed|
זיאד|زياد|Ziad,Ziyad|
עימאד|عماد|Imad,Emad|
ראאד|رائد|Raed,Ra'ed|
איאד|إياد|Iyad,Eyad|
סלים|سليم|Salim,Selim|
סלאח|صلاح|Salah|
סולימאן|سليمان|Suleiman,Sulaiman|
יזן|يزن|Yazan|
עדנאן|عدنان|Adnan|
באסל|باسل|Basel,Basil|
ח'ליל|خليل|Khalil|
ג'ורג'|جورج|George,Jorj|
אליאס|إلياس|Elias,Ilyas|
אסעד|أسعد|Asaad,As'ad|
מאהר|ماهر|Maher|
עאדל|عادل|Adel,Adil|
נביל|نبيل|Nabil,Nabeel|
ראשד|راشد|Rashed,Rashid|
שאדי|شادي|Shadi|
מוסא|موسى|Musa,Mousa|
עיסא|عيسى|Issa,Eisa|
כמאל|كمال|Kamal|
פאיז|فايز|Fayez,Faiz|
מוניר|منير|Munir,Mounir|
ג'ואד|جواد|Jawad|
סמיר|سمير|Samir,Sameer|
הישאם|هشام|Hisham,Hesham|
"""

_AR_FEMALE = """
פאטמה|فاطمة|Fatima,Fatma,Fatmeh|
עאישה|عائشة|Aisha,Aysha,Aicha|
מרים|مريم|Mariam,Maryam,Miriam|
נור|نور|Noor,Nur|
ראניה|رانيا|Rania,Ranya|
רנא|رنا|Rana|
לינא|لينا|Lina,Leena|
הבה|هبة|Hiba,Heba|
אמל|أمل|Amal|
סנא|سناء|Sana,Sanaa|
יאסמין|ياسمين|Yasmin,Yasmeen,Jasmin|
ליילא|ليلى|Layla,Laila,Leila|
הודא|هدى|Huda,Hoda|
סמירה|سميرة|Samira,Sameera|
סלמא|سلمى|Salma|
דינא|دينا|Dina|
רים|ريم|Reem,Rim|
שירין|شيرين|Shireen,Shirin|
נאדיה|نادية|Nadia,Nadya|
היא|هيا|Haya|
איה|آية|Aya|
רואן|روان|Rawan|
למיס|لميس|Lamis,Lamees|
אסמאא|أسماء|Asmaa,Asma|
עולא|علا|Ola,Ula|
סוהא|سهى|Suha|
מנאל|منال|Manal|
ופאא|وفاء|Wafa,Wafaa|
נסרין|نسرين|Nisreen,Nesrin|
זינב|زينب|Zainab,Zeinab|
חנאן|حنان|Hanan|
ג'מילה|جميلة|Jamila,Jameela|
ח'דיג'ה|خديجة|Khadija,Khadeeja|
אמירה|أميرة|Amira,Ameera|
רשא|رشا|Rasha|
סוזאן|سوزان|Suzan,Susan|
מייסה|ميساء|Maisa,Maysaa|
עביר|عبير|Abeer,Abir|
מונא|منى|Mona,Muna|
ריהאם|ريهام|Riham,Reham|
לובנא|لبنى|Lubna|
ג'נאן|جنان|Jenan,Jinan|
מלאך|ملاك|Malak|
תסנים|تسنيم|Tasnim|
ג'וד|جود|Jud,Joud|
"""

_AR_SURNAMES = """
אגבריה|اغبارية|Agbaria,Ighbariya,Ighbarieh
ג'בארין|جبارين|Jabarin,Jabareen
מחאג'נה|محاجنة|Mahajna,Mahagna,Mahajneh
מסארווה|مصاروة|Masarwa,Masarweh
ח'טיב|خطيب|Khatib,Khateeb,Al-Khatib
חסן|حسن|Hassan,Hasan
יונס|يونس|Younis,Yunis,Younes
זועבי|زعبي|Zoabi,Zoubi,Zuabi
סוואעד|سواعد|Sawaed,Swaed
נאסר|ناصر|Nasser,Naser
חמדאן|حمدان|Hamdan
גאנם|غانم|Ghanem,Ganem,Ghanim
באדר|بدر|Bader,Badr
סאלח|صالح|Saleh,Salah
מנסור|منصور|Mansour,Mansur
חאג' יחיא|حاج يحيى|Haj Yahya,Hajj Yahya,Haj-Yahia
קאסם|قاسم|Kassem,Qasem,Qassem
טאהא|طه|Taha
דראושה|دراوشة|Darawshe,Darawsha,Darawsheh
אבו רביעה|أبو ربيعة|Abu Rabia,Abu Rabiah
אסדי|أسدي|Asadi,Assadi
עזאיזה|عزايزة|Azaizeh,Azaiza
שלבי|شلبي|Shalabi,Chalabi
ח'ורי|خوري|Khoury,Khouri
עודה|عودة|Odeh,Awda,Ouda
דיאב|دياب|Diab,Dyab
סבאע'|صباغ|Sabbagh,Sabag
בשארה|بشارة|Bishara,Bshara
שחאדה|شحادة|Shehadeh,Shehada
חיג'אזי|حجازي|Hijazi,Hegazy
עוואד|عواد|Awad,Awwad
יאסין|ياسين|Yassin,Yasin
עיסא|عيسى|Issa,Eissa
מוסא|موسى|Mousa,Musa,Moussa
סרסור|سرسور|Sarsour,Sarsur
עבאס|عباس|Abbas
סלימאן|سليمان|Suleiman,Sulaiman,Sliman
עמארה|عمارة|Amara,Amarah
כבהא|كبها|Kabha,Kabaha
ג'אבר|جابر|Jaber,Jabber
זחאלקה|زحالقة|Zahalka,Zahalqa
מסאלחה|مصالحة|Massalha,Masalha
נאטור|ناطور|Natour,Natur
ריאן|ريان|Rayan,Rayyan
ותד|وتد|Watad,Wattad
ח'ליל|خليل|Khalil,Halil
עלי|علي|Ali
עת'אמנה|عثامنة|Athamneh,Atamna
ביאדסה|بيادسة|Biadsy,Bayadsa
מרעי|مرعي|Marei,Mari
עאמר|عامر|Amer
דהאמשה|دهامشة|Dahamshe,Dahamsheh
ע'נאים|غنايم|Ghanayem,Ganaim
סעדי|سعدي|Saadi,Sa'di
בדארנה|بدارنة|Badarneh,Badarna
אבו גוש|أبو غوش|Abu Ghosh,Abu Gosh
זידאן|زيدان|Zidan,Zeidan
חמוד|حمود|Hamoud,Hamud
סעיד|سعيد|Said,Saeed
אבו אל-היג'א|أبو الهيجاء|Abu al-Hija,Abu Elhija
"""

# --- Russian: Cyrillic|extra Latin (Western forms)|diminutives -------------------------------

_RU_MALE = """
Александр|Alexander,Alex|Саша,Шура,Саня
Сергей|Serge|Серёжа
Дмитрий||Дима
Андрей|Andrew|Андрюша
Алексей|Alex|Лёша,Алёша
Максим|Max|Макс
Владимир||Вова,Володя
Михаил|Michael|Миша
Евгений|Eugene|Женя
Иван||Ваня
Николай||Коля
Павел|Paul|Паша
Игорь||
Юрий|Yuri|Юра
Олег||
Артём||Тёма
Роман||Рома
Денис||
Антон||
Константин||Костя
Виктор|Victor|Витя
Никита||
Кирилл||
Илья||
Борис||Боря
Леонид||Лёня
Владислав||Влад,Слава
Вячеслав||Слава
Геннадий||Гена
Валерий||Валера
Анатолий||Толя
Григорий|Gregory|Гриша
Станислав||Стас
Виталий||Виталик
Вадим||
Егор||
Аркадий||Аркаша
Яков|Jacob|Яша
Лев|Leo|Лёва
Семён||Сёма
Фёдор||Федя
Степан||Стёпа
Матвей||
Даниил|Daniel|Даня
Глеб||
Тимофей||Тима
Арсений||Сеня
Тимур||
Руслан||
Валентин||
Эдуард|Edward|Эдик
Марат||
Василий||Вася
Пётр|Peter|Петя
Георгий|George|Гоша,Жора
Ефим||Фима
Марк|Mark|
Вениамин|Benjamin|Веня
Артур||
Ростислав||Слава
Ярослав||Слава
Всеволод||Сева
Филипп|Philip|
Захар||
Богдан||
Родион||
Иосиф|Joseph|Ося
Исаак|Isaac|
Моисей|Moses|
Наум||
Альберт||Алик
Эрик||
Давид|David|
Самуил|Samuel|
Савелий||Савва
Ростислав||
"""

_RU_FEMALE = """
Елена|Helen|Лена
Ольга||Оля
Наталья|Natalia,Natalie|Наташа
Татьяна|Tatiana|Таня
Ирина||Ира
Светлана||Света
Анна|Ann|Аня
Мария|Maria,Mary|Маша
Екатерина|Katherine,Catherine|Катя
Юлия|Julia,Yulia|Юля
Анастасия||Настя
Марина||
Галина||Галя
Людмила||Люда,Мила
Надежда||Надя
Валентина||Валя
Оксана||
Лариса||Лара
Виктория|Victoria|Вика
Алина||
Дарья|Daria|Даша
Полина||
Ксения|Ksenia|Ксюша
София|Sofia,Sophie|Соня
Вероника||Ника
Кристина||
Евгения|Eugenia|Женя
Александра||Саша
Инна||
Нина||
Любовь||Люба
Вера||
Зоя||
Раиса||Рая
Валерия||Лера
Алла||
Елизавета|Elizabeth|Лиза
Яна||
Диана||
Маргарита||Рита
Ангелина||
Арина||
Милана||
Жанна||
Регина||
Лилия|Lilia|Лиля
Элеонора||
Эмма||
Элла||
Римма||
Фаина||Фая
Тамара||Тома
Зинаида||Зина
Антонина||Тоня
Майя|Maya|
Алёна||
Олеся||
Карина||
Снежана||
Таисия||Тая
Эвелина||
Дина||
Белла||
Анжела||
Виолетта||
Стелла||
Ульяна||
Кира||
Ева|Eva|
Нелли||
Эльвира||
Ида||
Роза||
Сара|Sarah|
Рахиль|Rachel|
Фрида||
Клара||
Эсфирь|Esther|Фира
"""

_RU_SURNAMES = """
Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков Фёдоров Морозов Волков
Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев Макаров Никитин
Захаров Зайцев Соловьёв Борисов Яковлев Григорьев Романов Воробьёв Сергеев Кузьмин Фролов
Александров Дмитриев Королёв Гусев Киселёв Ильин Максимов Поляков Сорокин Виноградов Ковалёв
Белов Медведев Антонов Тарасов Жуков Баранов Филиппов Комаров Давыдов Беляев Герасимов Богданов
Осипов Сидоров Матвеев Титов Марков Миронов Крылов Куликов Карпов Власов Мельников Денисов
Гаврилов Тихонов Казаков Афанасьев Данилов Савельев Тимофеев Фомин Чернов Абрамов Мартынов
Ефимов Федотов Щербаков Назаров Калинин Исаев Чернышёв Быков Маслов Родионов Коновалов Лазарев
Воронин Климов Филатов Пономарёв Голубев Кудрявцев Прохоров Наумов Потапов Журавлёв Овчинников
Трофимов Леонов Соболев Ермаков Колесников Гончаров Емельянов Никифоров Грачёв Котов Гришин
Ефремов Архипов Громов Кириллов Малышев Панов Моисеев Румянцев Акимов Кондратьев Бирюков
Горбунов Анисимов Ерёмин Тихомиров Галкин Лукьянов Михеев Скворцов Юдин Белоусов Нестеров
Симонов Прокофьев Харитонов Князев Цветков Левин Митрофанов Воронов Аксёнов Софронов Мальцев
Логинов Горшков Савин Краснов Майоров Демидов Елисеев Рыбаков Сафонов Плотников Дёмин Хохлов
Фадеев Молчанов Игнатов Литвинов Ершов Ушаков Дементьев Рябов Мухин Калашников Леонтьев Лобанов
Кузин Корнеев Евдокимов Бородин Платонов Некрасов Балашов Бобров Жданов Блинов Игнатьев Коротков
Муравьёв Крюков Беляков Богомолов Дроздов Лавров Зуев Петухов Ларин Никулин Серов Терентьев Зотов
Устинов Фокин Самойлов Константинов Сахаров Шишкин Самсонов Черкасов Чистяков Носов Спиридонов
Карасёв Авдеев Воронцов Зверев Владимиров Селезнёв Нечаев Кудряшов Седов Фирсов Андрианов Панин
Головин Терехов Ульянов Шестаков Агеев Никонов Селиванов Баженов Гордеев Кожевников Пахомов
Зимин Костин Широков Филимонов Ларионов Овсянников Сазонов Суворов Нефёдов Корнилов Любимов
Львов Горбачёв Копылов Лукин Токарев Кулешов Шилов Большаков Панкратов Родин Шаповалов Покровский
Бочаров Никольский Маркин Горелов Агафонов Березин Ермолаев Зубков Куприянов Трифонов
Масленников Круглов Третьяков Колосов Рожков Артамонов Шмелёв Лаптев Лапин Федосеев Зиновьев
Зорин Уткин Столяров Зубов Ткачёв Дорофеев Антипов Завьялов Свиридов Золотарёв Кулаков
Мещеряков Макеев Дьяконов Гурьев
"""

# Surnames common among Russian-speaking Jews, frequent among Russian-speaking Israelis.
_RU_JEWISH_SURNAMES = """
Рабинович Каплан Шапиро Гуревич Кац Фельдман Коган Беркович Гольдман Фридман Штейнберг Ройтман
Гершман Лифшиц Вайсман Городецкий Полонский Левитан Зильберман Хайкин Гинзбург Эпштейн Зильбер
Розенберг Гольдберг Шварц Кацман Фишман Перельман Ландау Рубинштейн Вайнштейн Финкельштейн
Гринберг Шнейдер Цукерман Беккер Фрейдлин Брагинский Каганович Кравец Литвак Резник Шульман
Хаймович Абрамович Мильман Любарский Бродский Высоцкий Вольф Ривкин Шустер Зельцер
"""

_RU_TAIL_ROOTS = """
Бабк Бахт Беспал Бурлак Ватаг Вихр Галуш Гвозд Глухар Горох Грибк Гуськ Дегт Ерш Зябл Калач
Камыш Капуст Кашир Кедр Ковыл Колокольц Кочет Крупен Лапш Лещ Липат Лопат Малин Мезенц Молот
Мохнат Налим Окун Орех Осетр Пескар Пшен Пятак Рыжик Сивак Синиц Скоб Сом Суслик Сухар Табак
Тетер Топор Туман Хмел Хомяк Чеснок Чиж Шапк Шилк Щегл Щук Ягод Ячмен Бурм Вершин Глад Горб
Грач Дуб Жар Кам Корж Крут Лис Мох Новосел Рыж Сер Стар Сух Тих Туч
"""

_RU_TAIL_SKY = """
Архангельский Вознесенский Преображенский Успенский Рождественский Троицкий Богоявленский
Воскресенский Смоленский Введенский Знаменский Петровский Космодемьянский Дмитриевский
Георгиевский Крестовский Соколовский Ковальский Островский Яблонский Вишневский Ольшанский
Новицкий Лозинский Савицкий Завадский Станиславский Добровольский Белецкий Сосновский
"""

# --- Ukrainian: Ukrainian form=Russian form|extra Latin|diminutives (Ukrainian) --------------

_UA_MALE = """
Олександр=Александр|Alexander|Сашко,Саша
Сергій=Сергей||Сергійко
Андрій=Андрей|Andrew|Андрійко
Дмитро=Дмитрий||Діма
Володимир=Владимир||Вова,Володя
Микола=Николай||Коля
Юрій=Юрий||Юра
Віктор=Виктор|Victor|Вітя
Іван=Иван||Ваня,Іванко
Василь=Василий||Вася
Петро=Пётр|Peter|Петрик
Михайло=Михаил|Michael|Михась
Олег=Олег||
Богдан=Богдан||Бодя
Тарас=Тарас||
Ігор=Игорь||
Роман=Роман||Ромко
Максим=Максим|Max|
Артем=Артём||
Денис=Денис||
Віталій=Виталий||Віталік
Євген=Евгений|Eugene|Женя
Павло=Павел|Paul|Павлик
Степан=Степан||
Ярослав=Ярослав||Ярик
Назар=Назар||
Остап=Остап||
Григорій=Григорий||Гриць
Анатолій=Анатолий||Толя
Валерій=Валерий||Валера
Руслан=Руслан||
Олексій=Алексей|Alex|Льоша
Костянтин=Константин||Костя
Вадим=Вадим||
Кирило=Кирилл||
Ілля=Илья||
Леонід=Леонид||Льоня
Станіслав=Станислав||Стас
Святослав=Святослав||Свят
Всеволод=Всеволод||Сева
"""

_UA_FEMALE = """
Олена=Елена|Helen|Лена
Ольга=Ольга||Оля
Наталія=Наталья|Natalia|Наташа
Тетяна=Татьяна|Tatiana|Таня
Ірина=Ирина||Іра
Світлана=Светлана||Світла
Анна=Анна|Ann|Аня
Марія=Мария|Maria|Маруся
Катерина=Екатерина|Katherine|Катя
Юлія=Юлия|Julia|Юля
Оксана=Оксана||
Галина=Галина||Галя
Людмила=Людмила||Люда
Надія=Надежда||Надя
Валентина=Валентина||Валя
Вікторія=Виктория|Victoria|Віка
Алла=Алла||
Лариса=Лариса||
Інна=Инна||
Ніна=Нина||
Любов=Любовь||Люба
Софія=София|Sofia|Соня
Дарина=Дарья||Даша
Соломія=Соломия||
Христина=Кристина||
Олеся=Олеся||
Мирослава=Мирослава||Мира
Богдана=Богдана||
Ганна=Анна|Hanna|Ганнуся
Зоряна=Зоряна||
Анастасія=Анастасия||Настя
Марина=Марина||
Яна=Яна||
Вероніка=Вероника||Ніка
Аліна=Алина||
Діана=Диана||
Катерина=Екатерина||Катруся
Ірина=Ирина||Ірочка
Уляна=Ульяна||
Євгенія=Евгения||Женя
"""

_UA_SURNAMES = """
Шевченко Коваленко Бондаренко Ткаченко Кравченко Олійник Мельник Бойко Ковальчук Мороз Лисенко
Марченко Руденко Савченко Петренко Клименко Павленко Харченко Пономаренко Левченко Карпенко
Василенко Ткачук Поліщук Кравчук Мельничук Козак Гончар Швець Тимошенко Шевчук Коваль Бондар
Литвиненко Гребенюк Сидоренко Панченко Кузьменко Приходько Романенко Костенко Гончаренко Власенко
Кириленко Яковенко Захарченко Давиденко Тарасенко Демченко Онищенко Фоменко Остапенко Гаврилюк
Мартинюк Савчук Пилипенко Білик Юрченко Гуменюк Антонюк Назаренко Дмитренко Волошин Іваненко
Степаненко Климчук Ярошенко Сорока Зайченко Гордієнко Матвієнко Мирошниченко Головко Дорошенко
Тищенко Кушнір Гнатюк Лозинський Федоренко Мазур Ковтун Бабенко Кучер Стельмах Кузнєцов Іванов
Попов Петров Соколов Волков Павлов Семенов Литвин Білоус Гончарук Лук'яненко Сахно Химич Дяченко
"""

# --- English: Spelling/Alternative spellings|nicknames ---------------------------------------

_GB_MALE = """
Oliver|Ollie
George|
James|Jim,Jimmy,Jamie
Harry|
Jack|
William|Will,Bill,Billy
Thomas|Tom,Tommy
David|Dave
John|Johnny
Michael|Mike,Mick
Daniel|Dan,Danny
Paul|
Mark|
Andrew|Andy
Richard|Rich,Rick
Christopher|Chris
Stephen/Steven|Steve
Robert|Rob,Bob,Bobby
Peter|Pete
Matthew|Matt
Joshua|Josh
Samuel|Sam
Alexander|Alex
Benjamin|Ben
Joseph|Joe
Charlie|
Anthony|Tony
Muhammad/Mohammed/Mohammad|Mo
Martin|
Simon|
Ian/Iain|
Gary|
Kevin|
Neil|
Jason|
Lee|
Craig|
Stuart/Stewart|Stu
Graham|
Philip/Phillip|Phil
Jonathan|Jon
Nicholas|Nick
Edward|Ed,Ted,Eddie
Ryan|
Liam|
Connor|
Jacob|Jake
Luke|
Adam|
Nathan|Nate
Callum|
Kieran|
Ethan|
Noah|
Leo|
Oscar|
Arthur|
Alfie|
Henry|Harry
Archie|
Freddie|
Theo|
Isaac|
Lewis|
Scott|
Sean/Shaun|
Dean|
Wayne|
Carl/Karl|
Barry|
Keith|
Colin|
Trevor|
Derek|
Brian|
Alan/Allan|Al
Roger|
Timothy|Tim
Patrick|Pat,Paddy
Gregory|Greg
Kenneth|Ken,Kenny
Ronald|Ron,Ronnie
Raymond|Ray
Frederick|Fred
Harold|Harry
Dominic|Dom
Gareth|Gaz
Rhys|
Owen|
Dylan|
Aaron|
Ali|
Hamza|
Ravi|
Sanjay|
Arjun|
Imran|
Yusuf|
Tariq|
Kwame|
Marcus|
Reece|
Jordan|
Toby|
Max|
Hugo|
Rory|
Finley|Finn
Harvey|
Elliot/Elliott|
Louis|
Tyler|
Joel|
"""

_GB_FEMALE = """
Olivia|Liv
Amelia|Millie
Emily|Em
Sarah/Sara|
Emma|
Laura|
Isla|
Ava|
Sophie/Sophia|Soph
Grace|Gracie
Lily|
Freya|
Jessica|Jess
Charlotte|Lottie
Poppy|
Ella|
Evie|
Claire/Clare|
Helen|
Rachel|
Lisa|
Karen|
Sharon|
Julie|
Joanne|Jo
Michelle|Shell
Nicola|Nicky
Louise|Lou
Gemma|
Hannah|
Lucy|
Amy|
Chloe|
Megan|Meg
Holly|
Lauren|
Zoe|
Rebecca|Becky,Becca
Katherine/Catherine/Kathryn|Kate,Katie,Cathy
Elizabeth|Liz,Beth,Lizzie,Betty
Margaret|Maggie,Peggy
Victoria|Vicky,Tori
Samantha|Sam
Alexandra|Alex,Lexi
Jennifer|Jen,Jenny
Susan|Sue,Susie
Deborah|Debbie,Deb
Patricia|Pat,Trish
Christine|Chris
Jacqueline|Jackie
Natalie|Nat
Stephanie|Steph
Danielle|Dani
Kelly|
Amanda|Mandy
Caroline|Caro
Alison/Allison|Ali
Angela|Angie
Dawn|
Tracey/Tracy|
Wendy|
Janet|Jan
Carol|
Jane|
Anne/Ann|Annie
Mary|
Linda|
Pauline|
Jean|
Ruth|
Eleanor|Ellie,Nell
Abigail|Abbie,Abby
Isabella|Bella,Izzy
Florence|Flo
Matilda|Tilly
Rosie|
Daisy|
Phoebe|
Imogen|Immy
Harriet|Hattie
Georgia|
Molly|
Jasmine|Jas
Aisha|
Fatima|
Priya|
Amira|
Zara|
Maryam|
Ayesha|
Nadia|
Leah|
Jade|
Kirsty|
Natasha|Tasha
Fiona|
Kerry|
Heather|
Yvonne|
Denise|
Lorraine|
Diane|
Sandra|
Hayley|
Sian|
Bethany|Beth
Niamh|
Siobhan|
"""

_US_MALE = """
Michael|Mike,Mikey
James|Jim,Jimmy
John|Johnny,Jack
Robert|Bob,Rob,Bobby
David|Dave
William|Bill,Will,Billy
Richard|Rick,Rich,Dick
Joseph|Joe,Joey
Thomas|Tom,Tommy
Christopher|Chris
Charles|Charlie,Chuck
Daniel|Dan,Danny
Matthew|Matt
Anthony|Tony
Mark|
Donald|Don
Steven/Stephen|Steve
Andrew|Andy,Drew
Paul|
Joshua|Josh
Kenneth|Ken,Kenny
Kevin|
Brian/Bryan|
George|
Timothy|Tim
Ronald|Ron
Jason|
Edward|Ed,Eddie,Ted
Jeffrey/Geoffrey|Jeff
Ryan|
Jacob|Jake
Gary|
Nicholas|Nick
Eric/Erik|
Jonathan|Jon
Larry|
Justin|
Scott|
Brandon|
Benjamin|Ben
Samuel|Sam
Gregory|Greg
Alexander|Alex
Patrick|Pat
Frank|
Raymond|Ray
Jack|
Dennis|
Jerry|
Tyler|
Aaron|
Jose|
Adam|
Nathan|Nate
Henry|Hank
Zachary|Zach,Zack
Douglas|Doug
Peter|Pete
Kyle|
Noah|
Ethan|
Jeremy|
Walter|Walt
Christian|
Keith|
Roger|
Terry|
Austin|
Sean|
Gerald|Jerry
Carl|
Harold|Harry
Dylan|
Arthur|Art
Lawrence|Larry
Jordan|
Jesse|
Bruce|
Gabriel|Gabe
Logan|
Alan/Allen|
Juan|
Albert|Al
Elijah|Eli
Wayne|
Randy|
Vincent|Vince
Mason|
Roy|
Ralph|
Russell|Russ
Bradley|Brad
Philip/Phillip|Phil
Eugene|Gene
Carlos|
Luis|
Liam|
Mohammed/Muhammad|
Jamal|
DeShawn|
Malik|
Darnell|
Hector|
Miguel|
Antonio|Tony
Jorge|
Ricardo|
Wei|
Minh|
Raj|
Vikram|
Isaac|Ike
Levi|
Ari|
Moshe|
"""

_US_FEMALE = """
Mary|
Patricia|Pat,Patty,Trish
Jennifer|Jen,Jenny
Linda|
Elizabeth|Liz,Beth,Betsy,Lizzie
Barbara|Barb
Susan|Sue
Jessica|Jess
Karen|
Sarah/Sara|
Lisa|
Nancy|
Sandra|Sandy
Betty|
Ashley|
Emily|
Kimberly|Kim
Margaret|Maggie,Peggy
Donna|
Michelle|
Carol|
Amanda|Mandy
Melissa|Missy,Mel
Deborah/Debra|Deb,Debbie
Stephanie|Steph
Rebecca|Becky
Sharon|
Laura|
Cynthia|Cindy
Dorothy|Dottie
Amy|
Kathleen|Kathy,Kate
Angela|Angie
Shirley|
Emma|
Brenda|
Pamela|Pam
Nicole|Nikki
Anna|
Samantha|Sam
Katherine/Catherine|Kate,Katie,Kathy
Christine|Chris
Rachel|
Carolyn|
Janet|
Maria|
Olivia|
Heather|
Helen|
Diane|
Julie|
Victoria|Vicky
Joyce|
Lauren|
Kelly|
Christina|Tina
Ruth|
Joan|
Virginia|Ginny
Judith|Judy
Evelyn|
Hannah|
Andrea|
Megan|Meg
Cheryl|
Jacqueline|Jackie
Madison|
Teresa/Theresa|Terry
Abigail|Abby
Sophia|
Martha|
Gloria|
Janice|
Ann/Anne|
Isabella|Bella
Charlotte|
Julia|
Grace|
Amber|
Alice|
Jean|
Denise|
Frances|Fran
Danielle|
Marilyn|
Natalie|
Beverly|Bev
Diana|
Brittany|
Kayla|
Alexis|
Doris|
Lori|
Tiffany|
Guadalupe|Lupe
Rosa|
Ana|
Carmen|
Yolanda|
Latoya|
Keisha|
Jasmine|
Aaliyah|
Priya|
Mei|
Linh|
Esther|
Miriam|
Leah|
"""

_GB_SURNAMES = """
Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson
Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner Martin
Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott Phillips
Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson Bailey
Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson Simpson Ellis Adams Singh
Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt Hussain Campbell Matthews
Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins Murray
Dixon Harvey Graham Pearson Ahmed Fletcher Walsh Kaur Gibson Howard Andrews Stewart Elliott
Reynolds Saunders Payne Fox Ford Pearce Day Brooks West Lawrence Cole Atkinson Bradley Spencer
Gill Dawson Ball Burton O'Brien Watts Rose Booth Perry Ryan Grant Wells Armstrong Francis Rees
Hayes Hart Hudson Newman Barrett Webster Hunter Gregory Carr Lowe Page Marsh Riley Dunn Woods
Parsons Berry Stone Reid Holland Hawkins Harding Porter Robertson Newton Oliver Reed Kennedy
Williamson Bird Gardner Shah Dean Lane Cooke Bates Henderson Parry Burgess Bishop Walton Burns
Nicholson Shepherd Ross Cross Long Freeman Warren Nicholls Hamilton Byrne Sutton McDonald Yates
Hodgson Robson Curtis Hopkins O'Connor Harper Coleman Watkins Moss McCarthy Chambers O'Neill
Griffin Sharp Hardy Wheeler Potter Osborne Johnston Gordon Doyle Wallace George Jordan Hutchinson
Rowe Burke May Pritchard Gilbert Willis Higgins Read Miles Stevenson Stephenson Hammond Arnold
Buckley Walters Hewitt Barber Nelson Slater Austin Sullivan Whitehead Mann Frost Lambert Stephens
Blake Akhtar Lynch Goodwin Barton Woodward Thomson Cunningham Quinn Barnett Baxter Bibi Clayton
Nash Greenwood Jennings Holt Kemp Poole Gallagher Bond Stokes Tucker Davidson Fowler Heath Norman
Middleton Lawson Banks French Stanley Jarvis Gibbs Ferguson Hayward Carroll Atkins Pope Bryant
Hancock Cohen Levy Goldberg
"""

_US_SURNAMES = """
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez
Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark
Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams
Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker
Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper
Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James
Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster
Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher
Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno
West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro
Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen
Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw
Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar
Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan
Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart
Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray
Delgado Berry Perkins Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence
Sandoval Cohen Levine Goldberg Katz Friedman Shapiro Klein Weiss Schwartz Rosenberg Kaplan
"""

_EN_TAIL_PREFIXES = """
Ash Black Brad Brom Chad Craw Dun Els Fair Hart Hol Kings Lang Mar Mid New Oak Pen Red Ros Rad
Sand Shel Stan Thorn Wal Wes Whit Win Ather Brook Cal Dal Ever Ful Har Hay Lock Mort Nor Pick
"""
_EN_TAIL_SUFFIXES = """
ley ton ford well wood by field ham worth more stone bridge cott dale ridge hurst combe wick
"""


# --- parsing --------------------------------------------------------------------------------


def _lines(block: str) -> list[str]:
    """Non-empty, stripped lines of a data block."""
    return [line.strip() for line in block.strip().splitlines() if line.strip()]


def _hebrew_names(block: str, *, surnames: bool) -> list[Name]:
    """Parse ``native|Latin,Latin|dim:Latin/Latin;...`` lines."""
    out: list[Name] = []
    for line in _lines(block):
        parts = line.split("|")
        native, latin = parts[0], tuple(parts[1].split(","))
        shorts: list[Short] = []
        if not surnames and len(parts) > 2 and parts[2]:
            for item in parts[2].split(";"):
                heb, spellings = item.split(":")
                shorts.append(Short(latin=tuple(spellings.split("/")), native=heb, hebrew=heb))
        out.append(
            Name(
                key=latin[0].lower(), latin=latin, native=native, hebrew=native, short=tuple(shorts)
            )
        )
    return out


def _arab_names(block: str) -> list[Name]:
    """Parse ``Hebrew|Arabic|Latin,Latin|dim-he:dim-ar:Latin/Latin`` lines."""
    out: list[Name] = []
    for line in _lines(block):
        parts = line.split("|")
        heb, arabic, latin = parts[0], parts[1], tuple(parts[2].split(","))
        shorts: list[Short] = []
        if len(parts) > 3 and parts[3]:
            for item in parts[3].split(";"):
                s_heb, s_ar, spellings = item.split(":")
                shorts.append(Short(latin=tuple(spellings.split("/")), native=s_ar, hebrew=s_heb))
        out.append(
            Name(
                key=latin[0].lower(),
                latin=latin,
                native=arabic,
                hebrew=heb,
                arabic=arabic,
                short=tuple(shorts),
            )
        )
    return out


def _short_from_cyrillic(cyr: str, *, ukrainian: bool = False) -> Short:
    """A diminutive given in Cyrillic, with its Latin and Hebrew forms."""
    return Short(
        latin=cyrillic_latin_forms(cyr, ukrainian=ukrainian),
        native=cyr,
        hebrew=cyrillic_hebrew(cyr),
    )


def _russian_forenames(block: str) -> list[Name]:
    """Parse ``Cyrillic|extra Latin|diminutives`` lines; Latin forms come from the schemes."""
    out: list[Name] = []
    seen: set[str] = set()
    for line in _lines(block):
        cyr, extra, shorts = line.split("|")
        if cyr in seen:
            continue
        seen.add(cyr)
        forms = cyrillic_latin_forms(cyr)
        latin = tuple(dict.fromkeys([*forms[:2], *(e for e in extra.split(",") if e), *forms[2:]]))
        out.append(
            Name(
                key=forms[0].lower(),
                latin=latin,
                native=cyr,
                hebrew=cyrillic_hebrew(cyr),
                short=tuple(_short_from_cyrillic(s) for s in shorts.split(",") if s),
            )
        )
    return out


def _ukrainian_forenames(block: str) -> list[Name]:
    """Parse ``Ukrainian=Russian|extra Latin|diminutives``: both forms are in use."""
    out: list[Name] = []
    seen: set[str] = set()
    for line in _lines(block):
        pair, extra, shorts = line.split("|")
        uk, ru = pair.split("=")
        if uk in seen:
            continue
        seen.add(uk)
        uk_forms = cyrillic_latin_forms(uk, ukrainian=True)
        ru_forms = cyrillic_latin_forms(ru)
        latin = tuple(
            dict.fromkeys([*uk_forms, ru_forms[0], *(e for e in extra.split(",") if e), *ru_forms])
        )
        out.append(
            Name(
                key=uk_forms[0].lower(),
                latin=latin,
                native=uk,
                hebrew=cyrillic_hebrew(uk),
                alt_native=ru,
                short=tuple(
                    _short_from_cyrillic(s, ukrainian=True) for s in shorts.split(",") if s
                ),
            )
        )
    return out


_FEMININE_ENDINGS = (
    ("ский", "ская"), ("цкий", "цкая"), ("ський", "ська"), ("цький", "цька"),
    ("ой", "ая"), ("ов", "ова"), ("ев", "ева"), ("ёв", "ёва"), ("єв", "єва"), ("ин", "ина"),
    ("ын", "ына"), ("ін", "іна"),
)  # fmt: skip


def feminine_surname(cyr: str) -> str:
    """The feminine form of a Russian or Ukrainian surname (Ivanov -> Ivanova).

    Examples:
        >>> feminine_surname("Иванов"), feminine_surname("Покровский"), feminine_surname("Шевченко")
        ('Иванова', 'Покровская', 'Шевченко')
    """
    for masc, fem in _FEMININE_ENDINGS:
        if cyr.endswith(masc):
            return cyr[: -len(masc)] + fem
    return cyr


def _cyrillic_surnames(
    words: list[str], *, ukrainian: bool = False
) -> tuple[list[Name], list[Name]]:
    """Masculine and feminine surname forms (aligned), with every Latin spelling."""
    masc: list[Name] = []
    fem: list[Name] = []
    seen: set[str] = set()
    for cyr in words:
        if cyr in seen:
            continue
        seen.add(cyr)
        m_forms = cyrillic_latin_forms(cyr, ukrainian=ukrainian)
        f_cyr = feminine_surname(cyr)
        f_forms = cyrillic_latin_forms(f_cyr, ukrainian=ukrainian)
        key = m_forms[0].lower()
        masc.append(Name(key=key, latin=m_forms, native=cyr, hebrew=cyrillic_hebrew(cyr)))
        fem.append(Name(key=key, latin=f_forms, native=f_cyr, hebrew=cyrillic_hebrew(f_cyr)))
    return masc, fem


def _english_names(block: str) -> list[Name]:
    """Parse ``Spelling/Alternative|nick,nick`` lines."""
    out: list[Name] = []
    for line in _lines(block):
        spellings, nicks = line.split("|")
        latin = tuple(spellings.split("/"))
        out.append(
            Name(
                key=latin[0].lower(),
                latin=latin,
                short=tuple(Short(latin=(n,)) for n in nicks.split(",") if n),
            )
        )
    return out


def _english_surnames(block: str, *, tail: bool) -> list[Name]:
    """English surnames, plus a tail of rare place-like compounds (Ashworth, Whitcombe)."""
    words = list(dict.fromkeys(block.split()))
    names = [Name(key=w.lower(), latin=(w,)) for w in words]
    if tail:
        known = {w.lower() for w in words}
        for i, prefix in enumerate(_EN_TAIL_PREFIXES.split()):
            for j, suffix in enumerate(_EN_TAIL_SUFFIXES.split()):
                word = prefix + suffix
                if (i + 2 * j) % 3 == 0 and word.lower() not in known:
                    names.append(Name(key=word.lower(), latin=(word,)))
    return names


def _hebrew_surnames() -> list[Name]:
    """Hebrew surnames, plus a tail of Ashkenazi compounds (Goldberg, Rosenthal)."""
    names = _hebrew_names(_HE_SURNAMES, surnames=True)
    known = {n.key for n in names}
    for p_lat, p_heb, p_alt in _HE_PREFIXES:
        for s_lat, s_heb, s_alt in _HE_SUFFIXES:
            first = p_lat + s_lat
            if first.lower() in known:
                continue
            variants = [first, *(a + s_lat for a in p_alt), *(p_lat + a for a in s_alt)]
            names.append(Name(key=first.lower(), latin=tuple(dict.fromkeys(variants)),
                              native=p_heb + s_heb, hebrew=p_heb + s_heb))  # fmt: skip
    return names


def _arab_surnames() -> list[Name]:
    """Arab family names, plus ``Abu X`` names."""
    names = _arab_names(_AR_SURNAMES)
    known = {n.key for n in names}
    for forename in _arab_names(_AR_MALE)[:40]:
        latin = tuple(f"Abu {s}" for s in forename.latin[:2]) + (f"Abu-{forename.latin[0]}",)
        if latin[0].lower() in known:
            continue
        names.append(Name(key=latin[0].lower(), latin=latin, native=f"أبو {forename.arabic}",
                          hebrew=f"אבו {forename.hebrew}", arabic=f"أبو {forename.arabic}"))  # fmt: skip
    return names


def _russian_surname_words(*, jewish_first: bool) -> list[str]:
    """Russian surnames in frequency order, Jewish surnames interleaved for Russian-speaking Israelis."""
    general = _RU_SURNAMES.split()
    jewish = _RU_JEWISH_SURNAMES.split()
    if jewish_first:
        # Interleave: among Russian-speaking Israelis these names are as common as Ivanov.
        head: list[str] = []
        for i in range(max(len(general), len(jewish))):
            if i < len(jewish):
                head.append(jewish[i])
            if i < len(general):
                head.append(general[i])
        words = head
    else:
        words = general + jewish
    tail = [root + suffix for root in _RU_TAIL_ROOTS.split() for suffix in ("ов", "ин")]
    return words + _RU_TAIL_SKY.split() + tail


def _pool(names: list[Name], top_share: float, feminine: list[Name] | None = None) -> Pool:
    """A pool of ``names`` whose top name has ``top_share``."""
    return Pool(
        names=tuple(names),
        probabilities=zipf_mandelbrot(len(names), top_share),
        feminine=tuple(feminine or ()),
    )


#: Share of all persons of a locale (both sexes) that the top forename holds.
_TOP_FORENAME = {"he": 0.030, "ar": 0.055, "ru_il": 0.032, "ru": 0.035, "ua": 0.035, "gb": 0.025, "us": 0.028}  # fmt: skip
#: Share the top surname holds.
_TOP_SURNAME = {"he": 0.013, "ar": 0.018, "ru_il": 0.010, "ru": 0.011, "ua": 0.012, "gb": 0.011, "us": 0.010}  # fmt: skip


@cache
def locale_pools(locale: str) -> LocalePools:
    """The forename and surname pools of ``locale`` (built once).

    Examples:
        >>> pools = locale_pools("ru")
        >>> pools.surnames.names[0].latin[0], pools.surnames.feminine[0].native
        ('Ivanov', 'Иванова')
        >>> len(locale_pools("gb").surnames.names) > 400
        True
    """
    top_first = 2 * _TOP_FORENAME[locale]  # a forename's share within its sex
    top_last = _TOP_SURNAME[locale]
    if locale == "he":
        return LocalePools(
            male=_pool(_hebrew_names(_HE_MALE, surnames=False), top_first),
            female=_pool(_hebrew_names(_HE_FEMALE, surnames=False), top_first),
            surnames=_pool(_hebrew_surnames(), top_last),
        )
    if locale == "ar":
        return LocalePools(
            male=_pool(_arab_names(_AR_MALE), top_first),
            female=_pool(_arab_names(_AR_FEMALE), top_first),
            surnames=_pool(_arab_surnames(), top_last),
        )
    if locale in ("ru", "ru_il"):
        masc, fem = _cyrillic_surnames(_russian_surname_words(jewish_first=locale == "ru_il"))
        return LocalePools(
            male=_pool(_russian_forenames(_RU_MALE), top_first),
            female=_pool(_russian_forenames(_RU_FEMALE), top_first),
            surnames=_pool(masc, top_last, fem),
        )
    if locale == "ua":
        ua_masc, ua_fem = _cyrillic_surnames(_UA_SURNAMES.split(), ukrainian=True)
        ru_masc, ru_fem = _cyrillic_surnames(_russian_surname_words(jewish_first=False)[100:])
        return LocalePools(
            male=_pool(_ukrainian_forenames(_UA_MALE), top_first),
            female=_pool(_ukrainian_forenames(_UA_FEMALE), top_first),
            surnames=_pool(ua_masc + ru_masc, top_last, ua_fem + ru_fem),
        )
    if locale == "gb":
        return LocalePools(
            male=_pool(_english_names(_GB_MALE), top_first),
            female=_pool(_english_names(_GB_FEMALE), top_first),
            surnames=_pool(_english_surnames(_GB_SURNAMES, tail=True), top_last),
        )
    if locale == "us":
        return LocalePools(
            male=_pool(_english_names(_US_MALE), top_first),
            female=_pool(_english_names(_US_FEMALE), top_first),
            surnames=_pool(_english_surnames(_US_SURNAMES, tail=True), top_last),
        )
    raise ValueError(f"unknown locale {locale!r}")
