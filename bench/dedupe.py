"""Benchmark: duplicate detection over N customers with a known set of planted duplicates.

    uv run python bench/dedupe.py --n 100000 --n 1000000

Generates N distinct customers (Chinese and Latin names, 31 regions, some companies, unique
mobiles, some e-mails), then plants duplicates of about 2% of them, one kind each:

- phone_format: a typo in the name, the same mobile written another way ("138 1234 5678");
- email_case:   the same e-mail in another case, no phone;
- two_regions:  the same person and mobile, filed under another region;
- company_typo: a typo in a name of 3+ characters (in a 2-character Chinese name a "typo" is
  another person's name), the same company (legal form written differently), no
  phone or e-mail;
- region_typo:  a typo in a name of 3+ characters, the same region, nothing else (the hardest
  kind: by design it scores below the default queue threshold of 0.6).

Prints detection time (the in-memory core, `patron.customers.dedupe.find_duplicates`; reading
the rows from the database is not included), the candidate pairs scored, and precision and
recall against the planted pairs at several score thresholds, plus recall per kind. Pairs of
generated customers that happen to share a name and region count as false positives.
"""

import argparse
import random
import time

import polars as pl

from patron.customers.dedupe import find_duplicates

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂兰玉华建国志红文辉梅鹏飞宇浩然子轩思雨欣怡"
    "佳琪晨阳博文婷雪琳海燕春秋冬松柏林森峰岩波涛瑞祥福贵宏伟永安康宁振东北南西凯旋晓光荣成"
)
LATIN_FIRST = [
    "james",
    "mary",
    "john",
    "linda",
    "robert",
    "susan",
    "david",
    "karen",
    "peter",
    "anna",
    "mark",
    "laura",
    "paul",
    "emma",
    "kevin",
    "julia",
    "brian",
    "sophie",
    "tom",
    "claire",
]
LATIN_LAST = [
    "smith",
    "brown",
    "taylor",
    "wilson",
    "clark",
    "walker",
    "hall",
    "young",
    "king",
    "wright",
    "green",
    "baker",
    "adams",
    "nelson",
    "carter",
    "mitchell",
    "roberts",
    "turner",
    "parker",
    "evans",
]
REGIONS = [
    "北京",
    "天津",
    "河北",
    "山西",
    "内蒙古",
    "辽宁",
    "吉林",
    "黑龙江",
    "上海",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "广西",
    "海南",
    "重庆",
    "四川",
    "贵州",
    "云南",
    "西藏",
    "陕西",
    "甘肃",
    "青海",
    "宁夏",
    "新疆",
]
KINDS = ("phone_format", "email_case", "two_regions", "company_typo", "region_typo")


def person_name(rng: random.Random) -> str:
    if rng.random() < 0.1:
        return f"{rng.choice(LATIN_FIRST).title()} {rng.choice(LATIN_LAST).title()}"
    surname = SURNAMES[min(int(rng.expovariate(1 / 15)), len(SURNAMES) - 1)]
    return surname + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2, 2))))


def company_name(rng: random.Random) -> str:
    return f"{rng.choice(REGIONS)}{rng.choice(GIVEN)}{rng.choice(GIVEN)}贸易有限公司"


def typo(name: str, rng: random.Random) -> str:
    """One substitution, deletion or swap of adjacent letters (never the whole name)."""
    chars = list(name)
    i = rng.randrange(len(chars))
    pool = GIVEN if "\u4e00" <= chars[i] <= "\u9fff" else "abcdefghijklmnopqrstuvwxyz"
    op = rng.random()
    if op < 0.6 or len(chars) <= 2:
        chars[i] = rng.choice([c for c in pool if c != chars[i]])
    elif op < 0.8:
        del chars[i]
    elif i + 1 < len(chars):
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def generate(
    n: int, seed: int = 7
) -> tuple[pl.DataFrame, set[tuple[str, str]], dict[tuple[str, str], str]]:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    mobiles = rng.sample(range(10**9), n)
    rows = []
    for i in range(n):
        name = person_name(rng)
        rows.append(
            {
                "id": f"c{i:07d}",
                "name": name,
                "company_name": company_name(rng) if rng.random() < 0.3 else "",
                "phone": f"+861{rng.choice('3589')}{mobiles[i]:09d}" if rng.random() < 0.8 else "",
                "email": f"u{i}.{rng.randrange(10**6)}@example.com" if rng.random() < 0.5 else "",
                "region": rng.choice(REGIONS),
            }
        )
    truth: dict[tuple[str, str], str] = {}
    for k, base in enumerate(rng.sample(rows[:n], n // 50)):
        kind = KINDS[k % len(KINDS)]
        dup = {**base, "id": f"d{k:07d}"}
        if kind == "phone_format":
            if not base["phone"]:
                continue
            national = base["phone"][3:]
            dup["name"] = typo(base["name"], rng)
            dup["phone"] = rng.choice(
                [
                    f"{national[:3]} {national[3:7]} {national[7:]}",
                    f"0086 {national}",
                    f"{national[:3]}-{national[3:7]}-{national[7:]}",
                ]
            )
            dup["email"] = ""
        elif kind == "email_case":
            if not base["email"]:
                continue
            dup["email"], dup["phone"] = base["email"].upper(), ""
        elif kind == "two_regions":
            if not base["phone"]:
                continue
            dup["region"] = rng.choice([r for r in REGIONS if r != base["region"]])
            dup["email"] = ""
        elif kind == "company_typo":
            if not base["company_name"] or len(base["name"]) < 3:
                continue
            dup["name"] = typo(base["name"], rng)
            dup["company_name"] = base["company_name"].replace("有限公司", "公司")
            dup["phone"] = dup["email"] = ""
            dup["region"] = rng.choice(REGIONS)
        else:
            if len(base["name"]) < 3:
                continue
            dup["name"] = typo(base["name"], rng)
            dup["phone"] = dup["email"] = dup["company_name"] = ""
        rows.append(dup)
        truth[tuple(sorted((base["id"], dup["id"])))] = kind
    return pl.DataFrame(rows), set(truth), truth


def evaluate(pairs: pl.DataFrame, truth: set, kinds: dict, threshold: float) -> dict:
    found = {
        (a, b) for a, b in pairs.filter(pl.col("score") >= threshold).select("a", "b").iter_rows()
    }
    hits = found & truth
    per_kind = {k: 0 for k in KINDS}
    totals = {k: 0 for k in KINDS}
    for pair, kind in kinds.items():
        totals[kind] += 1
        per_kind[kind] += pair in hits
    return {
        "threshold": threshold,
        "found": len(found),
        "precision": len(hits) / len(found) if found else 1.0,
        "recall": len(hits) / len(truth),
        "recall_by_kind": {k: round(per_kind[k] / totals[k], 3) for k in KINDS if totals[k]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, action="append", help="customers (repeatable)")
    args = parser.parse_args()
    for n in args.n or [100_000]:
        started = time.perf_counter()
        frame, truth, kinds = generate(n)
        generated = time.perf_counter() - started
        started = time.perf_counter()
        detection = find_duplicates(frame, min_score=0.3)
        elapsed = time.perf_counter() - started
        print(
            f"\nN = {frame.height:,} rows ({n:,} customers + {len(truth):,} planted duplicates); "
            f"generated in {generated:.1f} s"
        )
        print(
            f"detection: {elapsed:.1f} s, {detection.compared:,} candidate pairs scored, "
            f"{detection.skipped_blocks} blocks skipped"
        )
        for threshold in (0.3, 0.45, 0.6, 0.75, 0.85):
            r = evaluate(detection.pairs, truth, kinds, threshold)
            print(
                f"  score >= {threshold:.2f}: {r['found']:>8,} pairs  "
                f"precision {r['precision']:.3f}  recall {r['recall']:.3f}  "
                f"by kind {r['recall_by_kind']}"
            )


if __name__ == "__main__":
    main()
