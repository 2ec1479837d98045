/**
 * A tiny but real transformers.js embedding model for tests (no model can be downloaded
 * here): an ONNX graph whose single Gather maps input_ids through a seeded random
 * embedding table to last_hidden_state, with a real WordPiece tokenizer (BERT normaliser
 * and pre-tokenizer, CJK characters split) — loaded and run by onnxruntime through
 * transformers.js exactly like a production model folder. Mean pooling + normalisation
 * make texts that share tokens score higher.
 */
import fs from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const WORDS = (
  'reset fault servo overload conveyor lockout tagout voltage pressure error code motor safety procedure alarm ' +
  'press belt tension drive inverter overcurrent cable check replace valve pump hydraulic oil filter temperature ' +
  'sensor switch power main disconnect lock tag verify zero energy start stop button panel display screen step ' +
  'maintenance inspection bearing lubrication grease torque bolt nut guard door emergency operator shift leader ' +
  'the a an and or of to in on for with is are be this that how what when where why do does install database ' +
  'page manual line machine plc cpu module input output network restart clear cause fix log report'
).split(' ');
const CJK = Array.from(
  '復复位故障伺服過过載载安全電电壓压停機机馬马達达警報报上鎖锁掛挂牌檢检查步驟骤清除卡料按下鍵键面板確确認认溫温度變变頻频器' +
    '流輸输送帶带張张力潤润滑油作業业程序規规定高低驗验斷断開开關关主管線线路資资料庫库系統统裝装手冊册注意事項项重新啟启動动' +
    '的是在和與与了不一有人這这個个中大為为以到說说時时要就出會会可也你對对生能而子那得於于著着下自之年過发後后作里用道行所然家種种事成方多經经么去法學学如都同現现當当沒没動動面起看定天分還还進进好小部其些主樣样理心她本前開开但因只從从想實实日軍军者意無无力它與长把機机十民第公此已工使情明性知全三又關关點点正業业外將将兩两高間间由問问很最重並并物手應应戰战向頭头文體体政美相見见被利什二等產产或新己制身果加西斯月話话合回特代內内信表化老給给世位次度門门任常先海通教兒儿原東东聲声提立及比員员解水名真論论處处走義义各入幾几口認认條条平系氣气題题活爾尔更別别打女變变四神總总何電电數数安少報报才結结反受目太量再感建務务做接必場场件計计管期市直德資资命山金指克許许統统區区保至隊队形社便空決决治展馬马科司五基眼書书非則则聽听白卻却界達达光放強强即像難难且權权思王象完設设式色路記记南品住告類类求據据程北邊边死張张該该交規规萬万取拉格望覺觉術术領领共確确傳传師师觀观清今切院讓让識识候帶带導导爭争運运笑飛飞風风步改收根幹干造言聯联持組组每濟济車车親亲極极林服快辦办議议往元英士證证近失轉转夫令準准布始怎呢存未遠远叫台單单影具羅罗字愛爱擊击流備备兵連连調调深商算質质團团集百需價价花黨党華华城石級级整府離离況况亞亚請请技際际約约示復复病息究線线似官火斷断精滿满支視视消越器容照須须九增研寫写稱称企八功嗎吗包片史委乎查輕轻易早曾除農农找裝装廣广顯显吧阿李標标談谈吃圖图念六引歷历首醫医局突專专費费號号盡尽另周較较注語语僅仅考落青隨随選选列武紅红響响雖虽推勢势參参希古眾众構构房半節节土投某案黑維维革劃划敵敌致陳陈律足態态護护七興兴派孩驗验責责營营星夠够章音跟志底站嚴严巴例防族供效續续施留講讲型料終终答緊紧黃黄絕绝奇察母京段依批群項项故按河米圍围江織织害鬥斗雙双境客紀纪採采舉举殺杀攻父蘇苏密低朝友訴诉止細细願愿千值仍男錢钱破網网熱热助倒育屬属坐帝限船臉脸職职速刻樂乐否剛刚威毛狀状率甚獨独球般普怕彈弹校苦創创假久錯错承印晚蘭兰試试股拿腦脑預预誰谁益陽阳若哪微尼繼继送急血驚惊伤素藥药適适波夜省初喜衛卫源食險险待述陸陆習习置居勞劳財财環环排福納纳歡欢雷警獲获模充負负雲云停木遊游龍龙樹树疑層层冷洲衝冲射略範范竟句室異异激漢汉村哈策演簡简卡罪判擔担州靜静退既衣您宗積积餘余痛檢检差富靈灵協协角佔占配征修皮揮挥勝胜降階阶審审沉堅坚善媽妈劉刘讀读啊超免壓压銀银買买皇養养伊懷怀執执副亂乱抗犯追幫帮宣佛歲岁航優优怪香著著田鐵铁控稅税左右份穿藝艺背陣阵草腳脚概惡恶塊块頓顿敢守酒島岛托央戶户烈洋哥索胡款靠評评版寶宝座釋释景顧顾弟登貨货互付伯慢歐欧換换聞闻危忙核暗姐介壞坏討讨麗丽良序升監监臨临亮露永呼味野架域沙掉括艦舰魚鱼雜杂誤误湾吉減减編编楚肯測测敗败屋跑夢梦散溫温困劍剑漸渐封救貴贵枪缺樓楼縣县尚毫移娘朋畫画班智亦耳恩短掌恐遺遗固席松秘謝谢魯鲁遇康虎幸均銷销鐘钟詩诗藏赶劇剧票損损忽巨炮舊旧端探湖錄录葉叶春鄉乡附吸予禮礼港雨呀板庭妳妈辦',
).filter((ch, i, all) => all.indexOf(ch) === i);
const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('');

export function tinyVocab(): string[] {
  const vocab = [
    ...SPECIAL,
    ...WORDS,
    ...ALNUM,
    ...ALNUM.map((c) => `##${c}`),
    ...CJK,
    '-',
    '.',
    ',',
    '?',
    '!',
    '，',
    '。',
    '？',
    '：',
    '/',
  ];
  return vocab.filter((t, i) => vocab.indexOf(t) === i);
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function valueInfo(name: string, elemType: number, dims: Array<number | string>): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export interface TinyEmbedder {
  dir: string;
  name: string;
  dim: number;
}

/** Write `<root>/<name>/` as a transformers.js model folder. */
export function writeTinyEmbedder(
  root: string,
  opts: { name?: string; dim?: number; seed?: number } = {},
): TinyEmbedder {
  const name = opts.name ?? 'tiny-embedder';
  const dim = opts.dim ?? 64;
  const dir = path.join(root, name);
  fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });
  const vocab = tinyVocab();
  const rand = mulberry32(opts.seed ?? 7);
  const table = new Float32Array(vocab.length * dim);
  for (let i = 0; i < table.length; i++) table[i] = rand() * 2 - 1;
  // Special tokens carry no meaning: zero vectors, so they do not dominate the mean.
  for (let s = 0; s < SPECIAL.length; s++) table.fill(0, s * dim, (s + 1) * dim);

  const model = onnx.ModelProto.encode({
    irVersion: 8,
    producerName: 'fieldbook-tests',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'tiny_gather_embedder',
      node: [
        {
          opType: 'Gather',
          input: ['embeddings', 'input_ids'],
          output: ['last_hidden_state'],
          attribute: [{ name: 'axis', i: 0, type: onnx.AttributeProto.AttributeType.INT }],
        },
      ],
      initializer: [
        {
          name: 'embeddings',
          dataType: onnx.TensorProto.DataType.FLOAT,
          dims: [vocab.length, dim],
          rawData: new Uint8Array(table.buffer),
        },
      ],
      input: [
        valueInfo('input_ids', onnx.TensorProto.DataType.INT64, ['batch', 'sequence']),
        valueInfo('attention_mask', onnx.TensorProto.DataType.INT64, ['batch', 'sequence']),
        valueInfo('token_type_ids', onnx.TensorProto.DataType.INT64, ['batch', 'sequence']),
      ],
      output: [valueInfo('last_hidden_state', onnx.TensorProto.DataType.FLOAT, ['batch', 'sequence', dim])],
    },
  }).finish();
  fs.writeFileSync(path.join(dir, 'onnx', 'model.onnx'), model);

  const vocabMap = Object.fromEntries(vocab.map((t, i) => [t, i]));
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: vocabMap,
    },
  };
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  fs.writeFileSync(
    path.join(dir, 'tokenizer_config.json'),
    JSON.stringify({
      tokenizer_class: 'BertTokenizer',
      do_lower_case: true,
      model_max_length: 512,
      pad_token: '[PAD]',
      unk_token: '[UNK]',
      cls_token: '[CLS]',
      sep_token: '[SEP]',
      mask_token: '[MASK]',
    }),
  );
  fs.writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({
      model_type: 'bert',
      architectures: ['BertModel'],
      hidden_size: dim,
      vocab_size: vocab.length,
      max_position_embeddings: 512,
    }),
  );
  return { dir, name, dim };
}
