/**
 * A synthetic company for local directories, tests and benchmarks: Chinese names with pinyin
 * uids, departments in realistic proportions, titles per department and a login password per
 * person. Pure and deterministic: the same (count, seed, domain) always gives the same people.
 *
 * Stability: person i's name, uid and password depend only on the seed and on persons 0..i-1,
 * so `generateCompany(100)` is a prefix of `generateCompany(2000)` for those fields. Departments
 * (and therefore titles) are allotted by exact quota over the whole company, so they depend on
 * `count` as well.
 */

export interface CompanyPerson {
  uid: string;
  cn: string;
  sn: string;
  givenName: string;
  displayName: string;
  department: string;
  title: string;
  mail: string;
  password: string;
}

export interface GenerateCompanyOptions {
  /** PRNG seed (any integer; default 1). */
  seed?: number;
  /** Mail domain (default corp.example). */
  domain?: string;
}

/** Departments (customer service is the largest, tech the second-largest by design brief). */
export const DEPARTMENTS = ['客服中心', '技术中心', '业务部', '风控部', '财务部', '人力资源部', '行政部'] as const;
export type Department = (typeof DEPARTMENTS)[number];

/** Share of the company per department (sums to 1): ~2000 people → 700 in customer service, 300 in tech. */
export const DEPARTMENT_SHARES: Readonly<Record<Department, number>> = {
  客服中心: 0.35,
  业务部: 0.28,
  技术中心: 0.15,
  风控部: 0.08,
  财务部: 0.05,
  行政部: 0.05,
  人力资源部: 0.04,
};

/** Titles per department with relative weights (many staff, few managers). */
export const DEPARTMENT_TITLES: Readonly<Record<Department, readonly (readonly [title: string, weight: number])[]>> = {
  客服中心: [
    ['客服专员', 80],
    ['客服组长', 15],
    ['客服主管', 5],
  ],
  业务部: [
    ['客户经理', 50],
    ['高级客户经理', 25],
    ['业务专员', 13],
    ['业务主管', 8],
    ['业务经理', 4],
  ],
  技术中心: [
    ['软件工程师', 40],
    ['高级工程师', 25],
    ['测试工程师', 15],
    ['运维工程师', 12],
    ['技术经理', 8],
  ],
  风控部: [
    ['风控专员', 50],
    ['风控分析师', 30],
    ['反欺诈专员', 12],
    ['风控经理', 8],
  ],
  财务部: [
    ['会计', 45],
    ['财务分析师', 25],
    ['出纳', 20],
    ['财务经理', 10],
  ],
  行政部: [
    ['行政专员', 60],
    ['前台', 20],
    ['行政主管', 15],
    ['行政经理', 5],
  ],
  人力资源部: [
    ['招聘专员', 35],
    ['薪酬专员', 25],
    ['培训专员', 20],
    ['人力资源主管', 12],
    ['人力资源经理', 8],
  ],
};

/** uids are lowercase ASCII: a letter, then 1–30 letters or digits. */
export const UID_PATTERN = /^[a-z][a-z0-9]{1,30}$/;

/** Common surnames with their pinyin, and a rough relative frequency. */
const SURNAMES: readonly (readonly [hanzi: string, pinyin: string, weight: number])[] = [
  ['王', 'wang', 72],
  ['李', 'li', 71],
  ['张', 'zhang', 68],
  ['刘', 'liu', 53],
  ['陈', 'chen', 46],
  ['杨', 'yang', 31],
  ['赵', 'zhao', 20],
  ['黄', 'huang', 19],
  ['周', 'zhou', 18],
  ['吴', 'wu', 17],
  ['徐', 'xu', 13],
  ['孙', 'sun', 12],
  ['胡', 'hu', 11],
  ['朱', 'zhu', 10],
  ['高', 'gao', 10],
  ['林', 'lin', 9],
  ['何', 'he', 9],
  ['郭', 'guo', 9],
  ['马', 'ma', 9],
  ['罗', 'luo', 7],
  ['梁', 'liang', 6],
  ['宋', 'song', 6],
  ['郑', 'zheng', 6],
  ['谢', 'xie', 6],
  ['韩', 'han', 5],
  ['唐', 'tang', 5],
  ['冯', 'feng', 5],
  ['于', 'yu', 5],
  ['董', 'dong', 5],
  ['萧', 'xiao', 4],
  ['程', 'cheng', 4],
  ['曹', 'cao', 4],
  ['袁', 'yuan', 4],
  ['邓', 'deng', 4],
  ['许', 'xu', 4],
  ['傅', 'fu', 4],
  ['沈', 'shen', 4],
  ['曾', 'zeng', 4],
  ['彭', 'peng', 4],
  ['吕', 'lv', 3],
  ['苏', 'su', 3],
  ['卢', 'lu', 3],
  ['蒋', 'jiang', 3],
  ['蔡', 'cai', 3],
  ['贾', 'jia', 3],
  ['丁', 'ding', 3],
  ['魏', 'wei', 3],
  ['薛', 'xue', 3],
  ['叶', 'ye', 3],
  ['阎', 'yan', 3],
  ['余', 'yu', 3],
  ['潘', 'pan', 3],
  ['杜', 'du', 3],
  ['戴', 'dai', 3],
  ['夏', 'xia', 3],
  ['钟', 'zhong', 3],
  ['汪', 'wang', 3],
  ['田', 'tian', 3],
  ['任', 'ren', 3],
  ['姜', 'jiang', 3],
  ['范', 'fan', 3],
  ['方', 'fang', 3],
  ['石', 'shi', 3],
  ['姚', 'yao', 3],
  ['谭', 'tan', 2],
  ['廖', 'liao', 2],
  ['邹', 'zou', 2],
  ['熊', 'xiong', 2],
  ['金', 'jin', 2],
  ['陆', 'lu', 2],
  ['郝', 'hao', 2],
  ['孔', 'kong', 2],
  ['白', 'bai', 2],
  ['崔', 'cui', 2],
  ['康', 'kang', 2],
  ['毛', 'mao', 2],
  ['邱', 'qiu', 2],
  ['秦', 'qin', 2],
  ['江', 'jiang', 2],
  ['史', 'shi', 2],
  ['顾', 'gu', 2],
  ['侯', 'hou', 2],
  ['邵', 'shao', 2],
  ['孟', 'meng', 2],
  ['龙', 'long', 2],
  ['万', 'wan', 2],
  ['段', 'duan', 2],
  ['钱', 'qian', 2],
  ['汤', 'tang', 2],
  ['尹', 'yin', 2],
  ['黎', 'li', 2],
  ['易', 'yi', 2],
  ['常', 'chang', 2],
  ['武', 'wu', 2],
  ['乔', 'qiao', 2],
  ['贺', 'he', 2],
  ['赖', 'lai', 2],
  ['龚', 'gong', 2],
  ['文', 'wen', 2],
  ['欧阳', 'ouyang', 1],
  ['司马', 'sima', 1],
  ['诸葛', 'zhuge', 1],
  ['上官', 'shangguan', 1],
];

/** Characters used in given names, with the reading they have there. */
const GIVEN_NAME_CHARS: Readonly<Record<string, string>> = {
  伟: 'wei',
  芳: 'fang',
  娜: 'na',
  敏: 'min',
  静: 'jing',
  丽: 'li',
  强: 'qiang',
  磊: 'lei',
  军: 'jun',
  洋: 'yang',
  勇: 'yong',
  艳: 'yan',
  杰: 'jie',
  娟: 'juan',
  涛: 'tao',
  明: 'ming',
  超: 'chao',
  秀: 'xiu',
  霞: 'xia',
  平: 'ping',
  刚: 'gang',
  桂: 'gui',
  英: 'ying',
  华: 'hua',
  玉: 'yu',
  兰: 'lan',
  建: 'jian',
  国: 'guo',
  志: 'zhi',
  海: 'hai',
  鹏: 'peng',
  宇: 'yu',
  浩: 'hao',
  然: 'ran',
  子: 'zi',
  轩: 'xuan',
  欣: 'xin',
  怡: 'yi',
  梓: 'zi',
  涵: 'han',
  晨: 'chen',
  雪: 'xue',
  佳: 'jia',
  琪: 'qi',
  文: 'wen',
  博: 'bo',
  思: 'si',
  雨: 'yu',
  婷: 'ting',
  晓: 'xiao',
  东: 'dong',
  飞: 'fei',
  斌: 'bin',
  鑫: 'xin',
  宁: 'ning',
  林: 'lin',
  波: 'bo',
  辉: 'hui',
  红: 'hong',
  燕: 'yan',
  萍: 'ping',
  凯: 'kai',
  俊: 'jun',
  嘉: 'jia',
  慧: 'hui',
  颖: 'ying',
  晶: 'jing',
  亮: 'liang',
  成: 'cheng',
  龙: 'long',
  瑞: 'rui',
  琳: 'lin',
  倩: 'qian',
  蕾: 'lei',
  峰: 'feng',
  阳: 'yang',
  帆: 'fan',
  昊: 'hao',
  天: 'tian',
  一: 'yi',
  诗: 'shi',
  梦: 'meng',
  泽: 'ze',
  睿: 'rui',
  航: 'hang',
  雅: 'ya',
  婧: 'jing',
  可: 'ke',
  馨: 'xin',
  悦: 'yue',
  心: 'xin',
  安: 'an',
  云: 'yun',
  启: 'qi',
  正: 'zheng',
  新: 'xin',
  永: 'yong',
  春: 'chun',
  丹: 'dan',
  小: 'xiao',
  荣: 'rong',
  健: 'jian',
  彬: 'bin',
  立: 'li',
  松: 'song',
  岩: 'yan',
  宏: 'hong',
  毅: 'yi',
  坤: 'kun',
  鸿: 'hong',
  蓉: 'rong',
  薇: 'wei',
  露: 'lu',
  婉: 'wan',
  欢: 'huan',
  洁: 'jie',
  月: 'yue',
  秋: 'qiu',
};
const GIVEN_CHARS = Object.keys(GIVEN_NAME_CHARS);

const PASSWORD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const PASSWORD_LENGTH = 16;

/** mulberry32: a small, fast, seedable 32-bit PRNG. Returns a function giving floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Derives an independent 32-bit stream seed from the user seed and a stream label. */
function streamSeed(seed: number, stream: number): number {
  let h = (Math.trunc(seed) ^ Math.imul(stream, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

function pickIndex(random: () => number, length: number): number {
  return Math.floor(random() * length);
}

function pickWeighted<T>(random: () => number, items: readonly T[], weightOf: (item: T) => number, total: number): T {
  let r = random() * total;
  for (const item of items) {
    r -= weightOf(item);
    if (r < 0) return item;
  }
  return items[items.length - 1] as T;
}

const SURNAME_WEIGHT_TOTAL = SURNAMES.reduce((sum, s) => sum + s[2], 0);

/** Exact department sizes for `count` people (largest-remainder rounding of the shares). */
export function departmentSizes(count: number): Record<Department, number> {
  const sizes = {} as Record<Department, number>;
  const remainders: [Department, number][] = [];
  let allotted = 0;
  for (const dept of DEPARTMENTS) {
    const exact = count * DEPARTMENT_SHARES[dept];
    const whole = Math.floor(exact);
    sizes[dept] = whole;
    allotted += whole;
    remainders.push([dept, exact - whole]);
  }
  remainders.sort((a, b) => b[1] - a[1]);
  for (let i = 0; allotted < count; i++, allotted++) {
    const dept = (remainders[i % remainders.length] as [Department, number])[0];
    sizes[dept] += 1;
  }
  return sizes;
}

/**
 * `count` people of a synthetic company. All uids are unique and match {@link UID_PATTERN}
 * (pinyin of the name; repeats get 2, 3, …: zhangwei, zhangwei2).
 */
export function generateCompany(count: number, options: GenerateCompanyOptions = {}): CompanyPerson[] {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`generateCompany: count must be a non-negative integer, got ${count}`);
  }
  const seed = options.seed ?? 1;
  if (!Number.isFinite(seed)) throw new RangeError(`generateCompany: seed must be a finite number, got ${seed}`);
  const domain = options.domain ?? 'corp.example';
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i.test(domain)) {
    throw new RangeError(`generateCompany: not a mail domain: ${JSON.stringify(domain)}`);
  }

  const nameRandom = mulberry32(streamSeed(seed, 1));
  const passwordRandom = mulberry32(streamSeed(seed, 2));
  const deptRandom = mulberry32(streamSeed(seed, 3));
  const titleRandom = mulberry32(streamSeed(seed, 4));

  // Departments: exact quotas, shuffled (Fisher–Yates) so they interleave.
  const sizes = departmentSizes(count);
  const departments: Department[] = [];
  for (const dept of DEPARTMENTS) for (let i = 0; i < sizes[dept]; i++) departments.push(dept);
  for (let i = departments.length - 1; i > 0; i--) {
    const j = pickIndex(deptRandom, i + 1);
    const tmp = departments[i] as Department;
    departments[i] = departments[j] as Department;
    departments[j] = tmp;
  }

  const seen = new Map<string, number>();
  const people: CompanyPerson[] = [];
  for (let i = 0; i < count; i++) {
    const [sn, surnamePinyin] = pickWeighted(nameRandom, SURNAMES, (s) => s[2], SURNAME_WEIGHT_TOTAL);
    const givenLength = nameRandom() < 0.3 ? 1 : 2;
    let givenName = '';
    let givenPinyin = '';
    for (let k = 0; k < givenLength; k++) {
      const ch = GIVEN_CHARS[pickIndex(nameRandom, GIVEN_CHARS.length)] as string;
      givenName += ch;
      givenPinyin += GIVEN_NAME_CHARS[ch] as string;
    }

    // Bases are letters only and suffixes digits only, so base+n never collides with another base.
    const base = surnamePinyin + givenPinyin;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    const uid = n === 1 ? base : `${base}${n}`;

    let password = '';
    for (let k = 0; k < PASSWORD_LENGTH; k++) {
      password += PASSWORD_ALPHABET[pickIndex(passwordRandom, PASSWORD_ALPHABET.length)];
    }

    const department = departments[i] as Department;
    const titles = DEPARTMENT_TITLES[department];
    const titleTotal = titles.reduce((sum, t) => sum + t[1], 0);
    const [title] = pickWeighted(titleRandom, titles, (t) => t[1], titleTotal);

    const cn = sn + givenName;
    people.push({ uid, cn, sn, givenName, displayName: cn, department, title, mail: `${uid}@${domain}`, password });
  }
  return people;
}
