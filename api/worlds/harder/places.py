"""Where people live and connect from: cities, postcodes, streets and IP space.

Population is concentrated: a few big cities hold most people (Tel Aviv,
Jerusalem and Haifa; Moscow and St Petersburg; London), so "same name, same
city" happens. Each city is written in many ways (Tel Aviv, Tel-Aviv-Yafo,
תל אביב; St Petersburg, Sankt-Peterburg, СПб) and its postcodes follow the
country's real shape: Israeli 7-digit codes (and old 5-digit ones), Russian
6-digit, Ukrainian 5-digit, UK outward + inward codes, US ZIP and ZIP+4.
Arab towns in Israel mostly have no street names: addresses there are a
P.O. box or a neighbourhood.

IP space is split into residential blocks per country (households, whose
dynamic addresses change every few weeks to months and, in the bank web
regime, are handed on to other households), carrier NAT addresses shared
by thousands of mobile users, office blocks and public Wi-Fi; see
``people`` and ``sources`` for how sessions use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from api.worlds.harder.script import cyrillic_latin, ukrainian_latin

__all__ = [
    "CARRIER_IPS",
    "COUNTRY_OF_LOCALE",
    "HOME_BLOCKS",
    "IPV6_PREFIX",
    "OFFICE_BLOCKS",
    "TIMEZONE",
    "City",
    "Street",
    "cities",
    "city_weights",
    "streets",
]

COUNTRY_OF_LOCALE = {
    "he": "IL", "ar": "IL", "ru_il": "IL", "ru": "RU", "ua": "UA", "gb": "GB", "us": "US",
}  # fmt: skip
TIMEZONE = {
    "IL": "Asia/Jerusalem", "RU": "Europe/Moscow", "UA": "Europe/Kyiv", "GB": "Europe/London",
    "US": "America/New_York",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class City:
    """A city and the ways its name is written."""

    key: str
    country: str
    latin: tuple[str, ...]
    """Latin spellings, the canonical English one first."""
    native: tuple[str, ...]
    """Spellings in the local script(s) (Hebrew, Arabic, Cyrillic)."""
    postcode_prefixes: tuple[str, ...]
    area_codes: tuple[str, ...]
    """Landline area codes (IL, GB, RU) or telephone area codes (US)."""
    no_streets: bool = False
    """Arab towns in Israel: addresses are P.O. boxes or neighbourhoods."""
    state: str = ""


# key|Latin spellings|native spellings|postcode prefixes|area codes|weights per locale|flags
_IL = """
tel_aviv|Tel Aviv,Tel-Aviv,Tel Aviv-Yafo,Tel-Aviv-Yafo,Tel Aviv Yafo,TLV,Tel Aviv Jaffa|תל אביב,תל אביב-יפו,תל-אביב,ת"א,Тель-Авив|61,62,63,64,65,66,67,68|03|he:14,ar:2,ru_il:5
jerusalem|Jerusalem,Yerushalayim,Jerusalem Israel|ירושלים,י-ם,Иерусалим,القدس|91,92,93,94,95,96,97|02|he:12,ar:6,ru_il:4
haifa|Haifa,Hayfa,Heifa|חיפה,Хайфа,حيفا|31,32,33,34,35|04|he:6,ar:6,ru_il:10
rishon|Rishon LeZion,Rishon Lezion,Rishon le-Zion,Rishon Letsiyon,Rishon|ראשון לציון,ראשל"צ,Ришон-ле-Цион|75|03|he:5,ru_il:6
petah_tikva|Petah Tikva,Petach Tikva,Petah Tiqwa,Petach Tikvah,Petah-Tikva|פתח תקווה,פתח תקוה,פ"ת,Петах-Тиква|49|03|he:5,ru_il:5
ashdod|Ashdod|אשדוד,Ашдод|77|08|he:4,ru_il:9
netanya|Netanya,Natanya,Netania|נתניה,Нетания|42|09|he:4,ru_il:6
beersheba|Beer Sheva,Be'er Sheva,Beersheba,Beer-Sheva,Beer Sheba|באר שבע,ב"ש,Беэр-Шева|84|08|he:4,ar:3,ru_il:9
holon|Holon|חולון,Холон|58|03|he:3,ru_il:3
bnei_brak|Bnei Brak,Bnei-Brak,Bene Beraq|בני ברק|51|03|he:4
ramat_gan|Ramat Gan,Ramat-Gan|רמת גן,Рамат-Ган|52|03|he:3,ru_il:1
ashkelon|Ashkelon,Ashqelon|אשקלון,Ашкелон|78|08|he:2,ru_il:5
rehovot|Rehovot,Rechovot|רחובות,Реховот|76|08|he:2,ru_il:3
bat_yam|Bat Yam,Bat-Yam|בת ים,Бат-Ям|59|03|he:2,ru_il:5
beit_shemesh|Beit Shemesh,Bet Shemesh|בית שמש|99|02|he:2
kfar_saba|Kfar Saba,Kfar-Saba,Kefar Sava|כפר סבא|44|09|he:2
herzliya|Herzliya,Herzlia,Hertzliya|הרצליה|46|09|he:2
hadera|Hadera|חדרה,Хадера|38|04|he:1.5,ru_il:3
modiin|Modiin,Modi'in,Modiin-Maccabim-Reut|מודיעין,מודיעין-מכבים-רעות|71|08|he:2
nazareth|Nazareth,Natzrat,Nasira|נצרת,الناصرة|16|04|ar:10|arab
nof_hagalil|Nof HaGalil,Nazareth Illit,Natzrat Illit|נוף הגליל,נצרת עילית,Нацрат-Илит|17|04|he:0.5,ar:1,ru_il:4
lod|Lod,Lydda|לוד,اللد|71|08|he:1,ar:3,ru_il:1
ramla|Ramla,Ramle|רמלה,الرملة|72|08|he:1,ar:2,ru_il:1
raanana|Raanana,Ra'anana|רעננה|43|09|he:1.5
umm_al_fahm|Umm al-Fahm,Umm el-Fahm,Um Al Fahem|אום אל-פחם,أم الفحم|30|04|ar:8|arab
rahat|Rahat|רהט,رهط|85|08|ar:5|arab
tayibe|Tayibe,Taibe,Tayibah|טייבה,الطيبة|40|09|ar:5|arab
sakhnin|Sakhnin,Sachnin|סח'נין,سخنين|30|04|ar:4|arab
shefa_amr|Shefa-Amr,Shfar'am,Shefaram|שפרעם,شفاعمرو|20|04|ar:3|arab
tamra|Tamra|טמרה,طمرة|30|04|ar:3|arab
baqa|Baqa al-Gharbiyye,Baka al-Gharbiya,Baqa|באקה אל-גרבייה,باقة الغربية|30|04|ar:3|arab
karmiel|Karmiel,Carmiel|כרמיאל,Кармиэль|21|04|he:1,ru_il:4
kiryat_yam|Kiryat Yam,Qiryat Yam|קריית ים,Кирьят-Ям|29|04|he:0.5,ru_il:3
kiryat_gat|Kiryat Gat,Qiryat Gat|קריית גת,Кирьят-Гат|82|08|he:1,ru_il:2
nahariya|Nahariya,Naharia|נהריה,Нагария|22|04|he:1,ru_il:2
eilat|Eilat,Elat|אילת,Эйлат|88|08|he:1,ru_il:1
afula|Afula|עפולה,Афула|18|04|he:1,ru_il:1
akko|Akko,Acre,Acco|עכו,عكا|24|04|he:0.5,ar:2,ru_il:1
tiberias|Tiberias,Tveria|טבריה,Тверия|14|04|he:1
dimona|Dimona|דימונה,Димона|86|08|he:0.5,ru_il:1.5
arad|Arad|ערד,Арад|89|08|ru_il:1
sderot|Sderot|שדרות,Сдерот|87|08|he:0.5,ru_il:1
maalot|Ma'alot-Tarshiha,Maalot|מעלות-תרשיחא,Маалот|24|04|ru_il:1
or_akiva|Or Akiva|אור עקיבא,Ор-Акива|30|04|ru_il:1
"""

# Russian and Ukrainian cities are listed in Cyrillic; Latin spellings are derived.
_RU = """
moscow|Moscow,Moscou|Москва,г. Москва|101,105,107,109,111,115,117,119,121,123,125,127,129|495,499|ru:30
spb|Saint Petersburg,St. Petersburg,St Petersburg,SPb|Санкт-Петербург,СПб,Петербург,г. Санкт-Петербург|190,191,192,193,194,195,196,197,198,199|812|ru:14
novosibirsk||Новосибирск|630|383|ru:4
yekaterinburg|Yekaterinburg,Ekaterinburg|Екатеринбург|620|343|ru:4
kazan||Казань|420|843|ru:3
nizhny|Nizhny Novgorod,Nizhniy Novgorod,N. Novgorod|Нижний Новгород,Н. Новгород|603|831|ru:3
chelyabinsk||Челябинск|454|351|ru:3
samara||Самара|443|846|ru:3
omsk||Омск|644|3812|ru:3
rostov|Rostov-on-Don,Rostov|Ростов-на-Дону,Ростов|344|863|ru:3
ufa||Уфа|450|347|ru:3
krasnoyarsk||Красноярск|660|391|ru:3
voronezh||Воронеж|394|473|ru:2
perm||Пермь|614|342|ru:2
volgograd||Волгоград|400|8442|ru:2
krasnodar||Краснодар|350|861|ru:3
saratov||Саратов|410|8452|ru:2
tyumen||Тюмень|625|3452|ru:2
tolyatti|Tolyatti,Togliatti|Тольятти|445|8482|ru:1.5
kaliningrad||Калининград|236|4012|ru:1.5
sochi||Сочи|354|862|ru:1.5
"""

_UA = """
kyiv|Kyiv,Kiev|Київ,Киев|01,02,03,04|44|ua:30
kharkiv|Kharkiv,Kharkov|Харків,Харьков|61|57|ua:10
odesa|Odesa,Odessa|Одеса,Одесса|65|48|ua:10
dnipro|Dnipro,Dnepr,Dnipropetrovsk|Дніпро,Днепр|49|56|ua:9
lviv|Lviv,Lvov|Львів,Львов|79|32|ua:8
zaporizhzhia|Zaporizhzhia,Zaporozhye,Zaporizhia|Запоріжжя,Запорожье|69|61|ua:6
kryvyi_rih|Kryvyi Rih,Krivoy Rog|Кривий Ріг,Кривой Рог|50|56|ua:4
mykolaiv|Mykolaiv,Nikolaev|Миколаїв,Николаев|54|512|ua:4
vinnytsia|Vinnytsia,Vinnitsa|Вінниця,Винница|21|432|ua:3
poltava|Poltava|Полтава|36|532|ua:3
"""

_GB = """
london|London,LONDON,Greater London,London UK|E1,E2,E3,E5,E8,E14,E17,EC1A,EC1V,EC2A,EC4M,N1,N4,N7,N16,N19,NW1,NW3,NW5,NW6,NW10,SE1,SE5,SE10,SE15,SE22,SW1A,SW1V,SW2,SW4,SW6,SW11,SW15,SW19,W1T,W2,W4,W9,W11,W12,WC1E,WC2H,CR0,BR1,HA0,IG1,KT1,TW1,UB1,EN1,RM1|20|gb:30
birmingham|Birmingham,B'ham|B1,B5,B11,B13,B15,B23,B29,B44|121|gb:6
manchester|Manchester,Greater Manchester|M1,M4,M8,M14,M16,M20,M21,M32|161|gb:6
glasgow|Glasgow|G1,G3,G11,G12,G31,G41,G51|141|gb:4
leeds|Leeds|LS1,LS2,LS6,LS8,LS11,LS17|113|gb:4
liverpool|Liverpool|L1,L3,L8,L15,L17,L18|151|gb:3
bristol|Bristol|BS1,BS2,BS3,BS6,BS7,BS16|117|gb:3
sheffield|Sheffield|S1,S2,S7,S10,S11|114|gb:3
edinburgh|Edinburgh|EH1,EH3,EH6,EH9,EH11|131|gb:3
leicester|Leicester|LE1,LE2,LE3,LE5|116|gb:2.5
cardiff|Cardiff,Caerdydd|CF10,CF11,CF14,CF24|29|gb:2
bradford|Bradford|BD1,BD3,BD8,BD9|1274|gb:2
coventry|Coventry|CV1,CV2,CV3,CV5|24|gb:2
nottingham|Nottingham|NG1,NG2,NG5,NG7|115|gb:2.5
newcastle|Newcastle upon Tyne,Newcastle,Newcastle-upon-Tyne|NE1,NE2,NE4,NE6|191|gb:2.5
belfast|Belfast|BT1,BT5,BT7,BT9,BT15|28|gb:2
southampton|Southampton|SO14,SO15,SO16,SO17|23|gb:1.5
brighton|Brighton,Brighton and Hove,Brighton & Hove,Hove|BN1,BN2,BN3|1273|gb:1.5
reading|Reading|RG1,RG2,RG4,RG6|118|gb:1.5
milton_keynes|Milton Keynes,MK|MK1,MK5,MK9,MK14|1908|gb:1.5
oxford|Oxford|OX1,OX2,OX3,OX4|1865|gb:1
cambridge|Cambridge|CB1,CB2,CB4,CB5|1223|gb:1
"""

_US = """
new_york|New York,New York City,NYC,Manhattan|NY|100,101,102|212,646,917,332|us:22
brooklyn|Brooklyn,Bklyn|NY|112|718,347,929|us:8
los_angeles|Los Angeles,LA|CA|900|213,310,323,424,818|us:10
chicago|Chicago|IL|606|312,773,872|us:7
houston|Houston|TX|770|713,281,832|us:6
phoenix|Phoenix|AZ|850|602,480,623|us:4
philadelphia|Philadelphia,Phila,Philly|PA|191|215,267|us:4
san_antonio|San Antonio|TX|782|210|us:3
san_diego|San Diego|CA|921|619,858|us:3
dallas|Dallas|TX|752|214,469,972|us:3
miami|Miami|FL|331|305,786|us:4
boston|Boston|MA|021|617,857|us:3
atlanta|Atlanta|GA|303|404,678,470|us:3
seattle|Seattle|WA|981|206|us:2.5
denver|Denver|CO|802|303,720|us:2
san_francisco|San Francisco,SF,San Fran|CA|941|415,628|us:2.5
austin|Austin|TX|787|512,737|us:2
baltimore|Baltimore|MD|212|410,443|us:2
teaneck|Teaneck|NJ|076|201,551|us:1
lakewood|Lakewood|NJ|087|732,848|us:1
"""


def _weights(text: str) -> dict[str, float]:
    """Parse ``locale:weight,...``."""
    return {k: float(v) for k, v in (item.split(":") for item in text.split(",") if item)}


def _parse_il() -> list[tuple[City, dict[str, float]]]:
    """Israeli cities: Latin and native spellings given by hand."""
    out = []
    for line in _IL.strip().splitlines():
        parts = line.split("|")
        key, latin, native, prefixes, area, weights = parts[:6]
        flags = parts[6] if len(parts) > 6 else ""
        city = City(
            key=key,
            country="IL",
            latin=tuple(latin.split(",")),
            native=tuple(native.split(",")),
            postcode_prefixes=tuple(prefixes.split(",")),
            area_codes=tuple(area.split(",")),
            no_streets=flags == "arab",
        )
        out.append((city, _weights(weights)))
    return out


def _parse_cyrillic(block: str, country: str) -> list[tuple[City, dict[str, float]]]:
    """Russian / Ukrainian cities: Latin spellings derived from the Cyrillic ones."""
    out = []
    for line in block.strip().splitlines():
        key, latin, native, prefixes, area, weights = line.split("|")
        natives = tuple(native.split(","))
        romanise = ukrainian_latin if country == "UA" else cyrillic_latin
        derived = [romanise(natives[0])]
        if country == "UA" and len(natives) > 1:
            derived.append(cyrillic_latin(natives[1]))  # the Russian name (Kiev, Kharkov)
        latin_all = tuple(dict.fromkeys([*(s for s in latin.split(",") if s), *derived]))
        city = City(
            key=key,
            country=country,
            latin=latin_all,
            native=natives,
            postcode_prefixes=tuple(prefixes.split(",")),
            area_codes=tuple(area.split(",")),
        )
        out.append((city, _weights(weights)))
    return out


def _parse_latin(block: str, country: str) -> list[tuple[City, dict[str, float]]]:
    """UK / US cities."""
    out = []
    for line in block.strip().splitlines():
        if country == "US":
            key, latin, state, prefixes, area, weights = line.split("|")
        else:
            key, latin, prefixes, area, weights = line.split("|")
            state = ""
        city = City(
            key=key,
            country=country,
            latin=tuple(latin.split(",")),
            native=(),
            postcode_prefixes=tuple(prefixes.split(",")),
            area_codes=tuple(area.split(",")),
            state=state,
        )
        out.append((city, _weights(weights)))
    return out


@cache
def _all_cities() -> dict[str, list[tuple[City, dict[str, float]]]]:
    """Every country's cities with their weights per locale (parsed once)."""
    return {
        "IL": _parse_il(),
        "RU": _parse_cyrillic(_RU, "RU"),
        "UA": _parse_cyrillic(_UA, "UA"),
        "GB": _parse_latin(_GB, "GB"),
        "US": _parse_latin(_US, "US"),
    }


def cities(country: str) -> tuple[City, ...]:
    """The cities of ``country``, biggest first.

    Examples:
        >>> [c.key for c in cities("IL")][:3]
        ['tel_aviv', 'jerusalem', 'haifa']
        >>> cities("RU")[1].latin[:2], cities("UA")[0].latin
        (('Saint Petersburg', 'St. Petersburg'), ('Kyiv', 'Kiev', 'Kiyev'))
    """
    return tuple(c for c, _ in _all_cities()[country])


@cache
def city_weights(locale: str) -> np.ndarray:
    """Probabilities over ``cities(country of locale)`` for people of ``locale``."""
    country = COUNTRY_OF_LOCALE[locale]
    w = np.array([weights.get(locale, 0.0) for _, weights in _all_cities()[country]])
    return np.asarray(w / w.sum(), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Street:
    """A street name in Latin and (where local) in its own script."""

    latin: str
    native: str = ""
    kind: str = ""
    """Russian / Ukrainian street type in Cyrillic (ул., пр-т, вул.)."""


_IL_STREETS = """
Herzl|הרצל;Ben Yehuda|בן יהודה;Dizengoff|דיזנגוף;Allenby|אלנבי;Rothschild|רוטשילד;Jabotinsky|ז'בוטינסקי;
Weizmann|ויצמן;HaNasi|הנשיא;Ben Gurion|בן גוריון;Rabin|רבין;Begin|בגין;Sokolov|סוקולוב;Bialik|ביאליק;
Arlozorov|ארלוזורוב;Ibn Gabirol|אבן גבירול;HaYarkon|הירקון;Yafo|יפו;King George|המלך ג'ורג';Balfour|בלפור;
Ahad Ha'am|אחד העם;HaShalom|השלום;HaAtzmaut|העצמאות;HaHagana|ההגנה;HaPalmach|הפלמ"ח;Katznelson|כצנלסון;
Trumpeldor|טרומפלדור;Herzog|הרצוג;HaRav Kook|הרב קוק;Moshe Sharet|משה שרת;Golda Meir|גולדה מאיר;
HaGefen|הגפן;HaZait|הזית;HaRimon|הרימון;HaTamar|התמר;HaErez|הארז;HaOren|האורן;HaShikma|השקמה;
HaBrosh|הברוש;Sderot Yerushalayim|שדרות ירושלים;Derech Hevron|דרך חברון;Emek Refaim|עמק רפאים;
HaNevi'im|הנביאים;Kanfei Nesharim|כנפי נשרים;Yehuda HaLevi|יהודה הלוי;Levinsky|לוינסקי;HaAliya|העלייה;
Moshe Dayan|משה דיין;Eli Cohen|אלי כהן;HaShoftim|השופטים;HaMaccabim|המכבים;Shivtei Israel|שבטי ישראל
"""

_RU_STREETS = """
ул.|Ленина;ул.|Советская;ул.|Мира;ул.|Пушкина;ул.|Гагарина;ул.|Кирова;ул.|Тверская;пр-т|Невский;
ул.|Лесная;ул.|Садовая;ул.|Школьная;ул.|Молодёжная;ул.|Центральная;ул.|Октябрьская;ул.|Первомайская;
ул.|Набережная;ул.|Профсоюзная;пр-т|Ленинский;пр-т|Кутузовский;пр-т|Мира;ул.|Чехова;ул.|Горького;
ул.|Лермонтова;ул.|Победы;ул.|Строителей;ул.|Калинина;ул.|Маяковского;ул.|Зелёная;ул.|Новая;ул.|Ломоносова
"""

_UA_STREETS = """
вул.|Шевченка;вул.|Хрещатик;просп.|Перемоги;вул.|Франка;вул.|Лесі Українки;вул.|Грушевського;
вул.|Соборна;вул.|Садова;вул.|Центральна;вул.|Миру;вул.|Незалежності;вул.|Київська;вул.|Гагаріна;
вул.|Пушкінська;вул.|Шкільна;вул.|Зелена;вул.|Лісова;просп.|Свободи
"""

_GB_STREETS = """
High Street;Station Road;Main Street;Park Road;Church Road;Church Street;London Road;Victoria Road;
Green Lane;Manor Road;Church Lane;Park Avenue;The Avenue;The Crescent;Queens Road;New Road;
Grange Road;Kings Road;Kingsway;Windsor Road;Highfield Road;Mill Lane;Alexandra Road;York Road;
St John's Road;Main Road;Broadway;King Street;The Green;Springfield Road;George Street;Park Lane;
Victoria Street;Albert Road;Queensway;New Street;Queen Street;West Street;North Street;
Manchester Road;The Grove;Richmond Road;Grove Road;South Street;School Lane;The Drive;North Road;
Stanley Road;Chester Road;Mill Road
"""

_US_STREETS = """
Main St;Oak Ave;Pine St;Maple Ave;Cedar St;Elm St;Washington St;Lake Dr;Hill St;Park Ave;2nd St;
3rd Ave;1st St;4th St;5th Ave;Broadway;Madison Ave;Jefferson St;Lincoln Ave;Jackson St;Church St;
Highland Ave;Sunset Blvd;Ridge Rd;Spring St;Walnut St;Chestnut St;Franklin St;Center St;River Rd;
Ocean Pkwy;Bedford Ave;Kings Hwy;Market St;Cherry Ln
"""

_RU_KIND_LATIN = {"ул.": "ul.", "пр-т": "pr-t", "вул.": "vul.", "просп.": "prosp."}


@cache
def streets(country: str) -> tuple[Street, ...]:
    """Street names of ``country``.

    Examples:
        >>> streets("IL")[0], streets("RU")[0].latin
        (Street(latin='Herzl', native='הרצל', kind=''), 'Lenina')
    """
    if country == "IL":
        items = [s.strip() for s in _IL_STREETS.replace("\n", "").split(";") if s.strip()]
        return tuple(Street(latin=lat, native=nat) for lat, nat in (s.split("|") for s in items))
    if country in ("RU", "UA"):
        block = _RU_STREETS if country == "RU" else _UA_STREETS
        items = [s.strip() for s in block.replace("\n", "").split(";") if s.strip()]
        romanise = ukrainian_latin if country == "UA" else cyrillic_latin
        return tuple(
            Street(latin=romanise(name), native=name, kind=kind)
            for kind, name in (s.split("|") for s in items)
        )
    block = _GB_STREETS if country == "GB" else _US_STREETS
    return tuple(Street(latin=s.strip()) for s in block.replace("\n", "").split(";") if s.strip())


def kind_latin(kind: str) -> str:
    """A Cyrillic street type in Latin letters (ул. -> ul.)."""
    return _RU_KIND_LATIN.get(kind, kind)


# --- IP space ---------------------------------------------------------------------------------

#: Residential /16 blocks per country (first two octets); households get addresses in them.
HOME_BLOCKS: dict[str, tuple[tuple[int, int], ...]] = {
    "IL": tuple((79, b) for b in range(176, 184)) + ((84, 228), (84, 229), (46, 116), (46, 117),
          (37, 142), (87, 68), (87, 69), (89, 138), (89, 139), (109, 64), (109, 65), (109, 66),
          (176, 230), (176, 231), (2, 52), (2, 53), (2, 54), (31, 154), (31, 168), (77, 124),
          (77, 125), (85, 64), (85, 65), (93, 172), (93, 173), (212, 179), (5, 22), (5, 29),
          (147, 161), (185, 3)),
    "RU": tuple((95, b) for b in range(24, 32)) + tuple((178, b) for b in range(64, 72))
          + tuple((188, b) for b in range(162, 170)) + ((93, 80), (93, 81), (93, 82), (93, 83),
          (46, 39), (37, 110), (91, 77), (94, 25), (109, 252), (213, 87), (176, 14), (176, 15)),
    "UA": ((176, 36), (176, 37), (176, 38), (176, 39)) + tuple((93, b) for b in range(72, 80))
          + ((46, 211), (178, 150), (91, 196), (31, 128), (37, 57), (194, 44), (188, 163),
          (134, 249), (159, 224), (159, 225)),
    "GB": tuple((86, b) for b in range(128, 160)) + tuple((81, b) for b in range(96, 104))
          + tuple((2, b) for b in range(96, 104)) + tuple((92, b) for b in range(0, 8))
          + ((82, 1), (82, 2), (90, 192), (90, 193), (90, 194), (31, 48), (31, 49), (31, 50)),
    "US": tuple((73, b) for b in range(0, 96, 2)) + tuple((24, b) for b in range(0, 64, 4))
          + tuple((98, b) for b in range(192, 224, 2)) + tuple((67, b) for b in range(160, 176))
          + tuple((108, b) for b in range(2, 34, 2)) + tuple((71, b) for b in range(56, 72)),
}  # fmt: skip

#: Mobile carriers' public NAT addresses: thousands of users share each one.
CARRIER_IPS: dict[str, tuple[str, ...]] = {
    "IL": tuple(f"147.236.{a}.{b}" for a in (20, 21) for b in (3, 17, 44, 90))
          + tuple(f"176.12.{a}.{b}" for a in (200, 201) for b in (5, 66, 130))
          + tuple(f"37.26.{a}.{b}" for a in (146, 147) for b in (12, 99))
          + tuple(f"5.28.{a}.{b}" for a in (160, 161) for b in (7, 200)),
    "RU": tuple(f"188.170.{a}.{b}" for a in (72, 73, 80) for b in (4, 61, 190))
          + tuple(f"85.26.{a}.{b}" for a in (164, 165) for b in (33, 140))
          + tuple(f"31.173.{a}.{b}" for a in (80, 81, 86) for b in (9, 201))
          + tuple(f"176.59.{a}.{b}" for a in (40, 41) for b in (50, 160)),
    "UA": tuple(f"46.133.{a}.{b}" for a in (0, 64, 128) for b in (12, 120))
          + tuple(f"89.209.{a}.{b}" for a in (10, 11) for b in (8, 77))
          + tuple(f"37.73.{a}.{b}" for a in (200, 201) for b in (15, 180)),
    "GB": tuple(f"31.94.{a}.{b}" for a in (0, 1, 2) for b in (14, 155))
          + tuple(f"82.132.{a}.{b}" for a in (210, 211) for b in (9, 99))
          + tuple(f"212.183.{a}.{b}" for a in (128, 129) for b in (40, 201))
          + tuple(f"92.40.{a}.{b}" for a in (170, 171) for b in (66, 150)),
    "US": tuple(f"172.56.{a}.{b}" for a in (1, 2, 3, 4) for b in (18, 140))
          + tuple(f"172.58.{a}.{b}" for a in (80, 81) for b in (2, 222))
          + tuple(f"174.{a}.{c}.{b}" for a in (192, 205, 224) for c in (9, 77) for b in (35,))
          + tuple(f"166.{a}.{c}.{b}" for a in (137, 170) for c in (10, 120) for b in (88,)),
}  # fmt: skip

#: Business /16 blocks: an office's staff share one public address.
OFFICE_BLOCKS: dict[str, tuple[tuple[int, int], ...]] = {
    "IL": ((212, 143), (62, 219), (81, 218), (192, 114), (199, 203)),
    "RU": ((195, 208), (81, 200), (194, 190), (217, 65)),
    "UA": ((195, 64), (193, 109), (91, 202)),
    "GB": ((195, 99), (212, 36), (194, 72), (62, 172)),
    "US": ((63, 116), (208, 67), (199, 85), (204, 79), (64, 233)),
}

#: Mobile IPv6 prefixes (a /32 per country); interface ids change often.
IPV6_PREFIX = {
    "IL": "2a06:c701", "RU": "2a00:1fa0", "UA": "2a02:2378", "GB": "2a01:4c8", "US": "2607:fb90",
}  # fmt: skip
