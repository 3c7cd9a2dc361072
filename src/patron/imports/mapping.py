"""Which column holds which field: the targets of each kind of import and the header guesser.

A mapping is a list aligned with the file's headers: `mapping[i]` is the target field of
column i, or "" to ignore it. Guessing normalises each header (case, width, spaces,
punctuation) and looks it up among the synonyms people write in Chinese and English files.
"""

import re
import unicodedata

from django.utils.translation import gettext_lazy as _

# field -> (label, synonyms). Synonyms are compared after `normalize_header`.
TARGETS: dict[str, dict[str, tuple[object, tuple[str, ...]]]] = {
    "customers": {
        "name": (
            _("Name"),
            (
                "name",
                "customer",
                "customername",
                "fullname",
                "fn",
                "客户名称",
                "客户名",
                "客户",
                "姓名",
                "名称",
                "客户姓名",
                "联系人姓名",
            ),
        ),
        "kind": (_("Kind"), ("kind", "type", "customertype", "客户类型", "类型", "类别")),
        "company_name": (
            _("Company"),
            (
                "company",
                "companyname",
                "org",
                "organization",
                "organisation",
                "公司",
                "公司名称",
                "单位",
                "企业名称",
            ),
        ),
        "phone": (
            _("Phone"),
            (
                "phone",
                "mobile",
                "tel",
                "telcell",
                "telephone",
                "cell",
                "phonenumber",
                "mobilephone",
                "手机",
                "手机号",
                "手机号码",
                "电话",
                "联系电话",
                "移动电话",
                "电话号码",
            ),
        ),
        "email": (
            _("E-mail"),
            ("email", "e-mail", "mail", "emailaddress", "邮箱", "电子邮件", "电子邮箱", "邮件"),
        ),
        "wechat": (_("WeChat ID"), ("wechat", "wechatid", "weixin", "微信", "微信号")),
        "id_number": (_("ID number"), ("idnumber", "idcard", "身份证", "身份证号", "证件号码")),
        "birthday": (
            _("Birthday"),
            ("birthday", "birthdate", "dateofbirth", "dob", "bday", "生日", "出生日期"),
        ),
        "address": (_("Address"), ("address", "adr", "street", "地址", "详细地址", "通讯地址")),
        "region": (
            _("Region"),
            ("region", "province", "state", "adrregion", "省份", "省", "地区", "所在地区", "区域"),
        ),
        "city": (_("City"), ("city", "adrcity", "城市", "市")),
        "industry": (_("Industry"), ("industry", "sector", "行业", "所属行业")),
        "source": (_("Source"), ("source", "leadsource", "来源", "客户来源")),
        "notes": (_("Notes"), ("notes", "note", "remark", "remarks", "comment", "备注", "说明")),
        "tags": (_("Tags"), ("tags", "tag", "labels", "标签")),
        "number": (
            _("Customer number"),
            ("number", "customernumber", "customerno", "id", "客户编号", "编号"),
        ),
        "owner": (_("Owner"), ("owner", "salesrep", "rep", "负责人", "归属人", "销售", "业务员")),
        "contact_name": (_("Contact name"), ("contact", "contactname", "contactperson", "联系人")),
        "title": (_("Job title"), ("title", "jobtitle", "position", "职位", "职务")),
        "contact_title": (
            _("Contact job title"),
            ("contacttitle", "contactjobtitle", "contactposition", "联系人职位", "联系人职务"),
        ),
        "contact_phone": (_("Contact phone"), ("contactphone", "联系人电话", "联系人手机")),
        "contact_email": (_("Contact e-mail"), ("contactemail", "联系人邮箱")),
        "family_name": (_("Family name"), ("familyname", "lastname", "surname", "nfamily", "姓")),
        "given_name": (_("Given name"), ("givenname", "firstname", "ngiven", "名")),
    },
    "leads": {
        "name": (
            _("Name"),
            ("name", "lead", "leadname", "fullname", "姓名", "线索名称", "名称", "客户名称"),
        ),
        "company_name": (_("Company"), ("company", "companyname", "公司", "公司名称", "单位")),
        "title": (_("Job title"), ("title", "jobtitle", "position", "职位", "职务")),
        "phone": (_("Phone"), ("phone", "mobile", "tel", "手机", "手机号", "电话", "联系电话")),
        "email": (_("E-mail"), ("email", "e-mail", "mail", "邮箱", "电子邮件")),
        "wechat": (_("WeChat ID"), ("wechat", "微信", "微信号")),
        "region": (_("Region"), ("region", "province", "省份", "地区")),
        "industry": (_("Industry"), ("industry", "行业")),
        "source": (_("Source"), ("source", "来源", "线索来源")),
        "estimated_value": (
            _("Estimated value"),
            ("estimatedvalue", "value", "amount", "预计金额", "金额"),
        ),
        "owner": (_("Owner"), ("owner", "负责人", "销售")),
    },
    "products": {
        "sku": (
            _("SKU"),
            ("sku", "code", "productcode", "itemcode", "编码", "商品编码", "产品编码", "货号"),
        ),
        "name": (_("Name"), ("name", "product", "productname", "商品名称", "产品名称", "名称")),
        "category": (_("Category"), ("category", "分类", "类别", "品类")),
        "price": (_("List price"), ("price", "listprice", "unitprice", "价格", "单价", "售价")),
        "currency": (_("Currency"), ("currency", "币种", "货币")),
    },
    "orders": {
        "external_ref": (
            _("Order reference"),
            ("orderid", "ordernumber", "orderno", "reference", "externalref", "订单号", "订单编号"),
        ),
        "customer_number": (_("Customer number"), ("customernumber", "customerno", "客户编号")),
        "customer_phone": (
            _("Customer phone"),
            ("phone", "mobile", "customerphone", "手机", "手机号", "电话"),
        ),
        "customer_email": (_("Customer e-mail"), ("email", "customeremail", "邮箱")),
        "customer_name": (
            _("Customer name"),
            ("customer", "customername", "name", "客户名称", "客户", "姓名"),
        ),
        "ordered_at": (
            _("Ordered"),
            (
                "orderedat",
                "orderdate",
                "date",
                "time",
                "下单时间",
                "下单日期",
                "订单日期",
                "日期",
                "时间",
            ),
        ),
        "total": (
            _("Amount"),
            ("amount", "total", "ordertotal", "金额", "订单金额", "总额", "实付金额", "合计"),
        ),
        "channel": (_("Channel"), ("channel", "saleschannel", "渠道", "销售渠道")),
        "status": (_("Status"), ("status", "orderstatus", "状态", "订单状态")),
        "sku": (_("SKU"), ("sku", "productcode", "商品编码", "货号")),
        "quantity": (_("Quantity"), ("quantity", "qty", "数量")),
    },
}
KINDS = tuple(TARGETS)

# Headers written by our own vCard reader map directly.
_VCARD = {
    "fn": "name",
    "nfamily": "family_name",
    "ngiven": "given_name",
    "org": "company_name",
    "title": "title",
    "telcell": "phone",
    "tel": "phone",
    "email": "email",
    "adrregion": "region",
    "adrcity": "city",
    "adr": "address",
    "bday": "birthday",
    "note": "notes",
}


def normalize_header(header: str) -> str:
    """'  客户 名称 (必填) ' -> '客户名称'; 'E-Mail Address' -> 'emailaddress'."""
    text = unicodedata.normalize("NFKC", header or "").lower()
    text = re.sub(r"[(\[（【].*?[)\]）】]", "", text)  # "(required)", "（必填）"
    return re.sub(r"[\s_\-.:：*#/]+", "", text)


def guess_mapping(headers: list[str], kind: str) -> list[str]:
    """The likely target of every column; each target is used at most once (first wins)."""
    targets = TARGETS[kind]
    index = {syn.replace("-", ""): name for name, (_, syns) in targets.items() for syn in syns}
    used: set[str] = set()
    mapping: list[str] = []
    for header in headers:
        key = normalize_header(header)
        guess = index.get(key) or (_VCARD.get(key) if kind == "customers" else None) or ""
        if not guess:
            guess = _contained(key, index)
        if guess in used:
            guess = ""
        used.add(guess)
        mapping.append(guess)
    if kind == "customers" and "contact_name" in used and "contact_title" not in used:
        # Beside a contact person's column, a bare "职位" is that person's, not the company's.
        mapping = ["contact_title" if m == "title" else m for m in mapping]
    return mapping


def _contained(key: str, index: dict[str, str]) -> str:
    """The field whose synonym the header contains ("客户手机" holds "手机"): the longest
    synonym wins, then one at the end of the header, where the noun naming the field sits."""
    best, best_score = "", (0, False)
    for synonym, name in index.items():
        if (len(synonym) >= 4 or (not synonym.isascii() and len(synonym) >= 2)) and synonym in key:
            score = (len(synonym), key.endswith(synonym))
            if score > best_score:
                best, best_score = name, score
    return best


def mapping_from_names(headers: list[str], names: dict[str, str], kind: str) -> list[str]:
    """A mapping given as {header: field} (the CLI's and the API's --mapping) as a list."""
    valid = TARGETS[kind]
    unknown = sorted(set(names.values()) - set(valid) - {""})
    if unknown:
        raise ValueError(f"unknown target fields for {kind}: {', '.join(unknown)}")
    guessed = guess_mapping(headers, kind)
    explicit = set(names.values())
    return [
        names.get(h, "" if guessed[i] in explicit else guessed[i]) for i, h in enumerate(headers)
    ]


def key_problem(mapping: list[str], kind: str, key_field: str) -> str | None:
    """Why records cannot be matched on `key_field` with this mapping, if they cannot: the key
    must be a column of the file, or no row would ever match and each import would create
    every record again."""
    if not key_field or key_field in mapping:
        return None
    label = TARGETS[kind][key_field][0] if key_field in TARGETS[kind] else key_field
    return str(_("Records are matched on %(f)s, but no column is mapped to it.")) % {"f": label}


def validate_mapping(mapping: list[str], kind: str, key_field: str = "") -> list[str]:
    """Problems with a mapping: unknown or repeated targets, required fields missing, or the
    field records are matched on missing."""
    problems = []
    targets = [m for m in mapping if m]
    for name in sorted(set(targets) - set(TARGETS[kind])):
        problems.append(str(_("Unknown field: %(f)s")) % {"f": name})
    for name in sorted({t for t in targets if targets.count(t) > 1}):
        problems.append(str(_("Two columns are mapped to %(f)s.")) % {"f": TARGETS[kind][name][0]})
    required = {
        "customers": [("name", "family_name")],
        "leads": [("name",)],
        "products": [("sku",), ("name",)],
        "orders": [
            ("ordered_at",),
            ("total",),
            ("customer_number", "customer_phone", "customer_email"),
        ],
    }[kind]
    for alternatives in required:
        if not set(alternatives) & set(targets):
            label = TARGETS[kind][alternatives[0]][0]
            problems.append(str(_("No column is mapped to %(f)s.")) % {"f": label})
    key = key_problem(mapping, kind, key_field)
    return [*problems, key] if key else problems
