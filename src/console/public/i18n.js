// Interface texts: Chinese first (the linkage office's language), English as a switch. The
// choice is kept in localStorage; it is not a secret.

/* global window, document */
/** @typedef {'zh-CN' | 'en'} Language */

/** @type {Record<Language, Record<string, string>>} */
const TEXTS = {
  'zh-CN': {
    appTitle: '110社会联动指挥平台', appSubtitle: '联动办工作台',
    signIn: '登录', signOut: '退出', tokenLabel: '访问令牌', tokenHint: '请输入分配给您的访问令牌（仅保存在本标签页）。',
    signInFailed: '令牌无效或已停用。', noConsoleRole: '此工作台供110接警台、联动办、系统管理员和持本单位令牌的单位人员使用；共用的部门令牌请使用反馈热线或接口。',
    navBoard: '实时看板', navRegister: '回访登记', navFlags: '不满意标记', navAssessment: '季度考核', language: 'English',
    live: '实时连接', reconnecting: '正在重新连接…', streamRefused: '实时连接被拒绝，请重新登录。',
    boardTitle: '指令实时看板', boardEmpty: '暂无指令。', code: '单号', createdAt: '下达时间', department: '处置单位', category: '类别',
    status: '状态', calls: '呼叫', acceptedBy: '受理', summary: '简要情况', urgent: '紧急', major: '重大', seconds: '秒',
    filterAll: '全部', filterActive: '进行中', callLive: '通话中',
    caseTitle: '案件详情', back: '返回看板', address: '地址', reporterPhone: '报警人电话', urgency: '紧急程度', normal: '一般',
    acknowledgement: '受理记录', notAccepted: '尚未受理', disputed: '有管辖争议', via: '方式', viaPhone: '电话按键', viaFeedback: '反馈接手',
    attempts: '呼叫记录', seq: '序号', script: '类型', contact: '联系人', number: '号码', startedAt: '开始', answeredAt: '接通', endedAt: '结束',
    result: '结果', cause: '挂机原因', digits: '按键', feedback: '处置反馈', noFeedback: '暂无反馈。', surveys: '回访', noSurveys: '暂无回访。',
    timeline: '全过程时间线', actor: '执行方', confirmations: '确认记录', lateAcknowledgements: '迟到受理', notFound: '找不到该指令。',
    registerTitle: '“三满意”回访登记表', from: '起', to: '止', apply: '查询', downloadCsv: '下载CSV', registerEmpty: '所选期间无回访记录。',
    incidentAt: '报警时间', callbackAt: '回访时间', kind: '回访类型', attemptsCount: '回访次数', attitude: '服务态度', speed: '处置速度',
    quality: '处置水平', disposition: '回访结果', flagsTitle: '不满意标记（待联动办跟进）', flagsEmpty: '暂无标记。', reason: '原因', flaggedAt: '标记时间',
    open: '查看', assessmentTitle: '季度考核', quarter: '季度', print: '打印', transmittal: '110指挥中心季度抄告：各单位排名',
    rank: '名次', definitions: '指标定义', generatedAt: '制表时间', period: '统计期间', totals: '全县合计', noRank: '—',
    received: '接收指令', accepted: '受理', acceptanceRate: '受理率', medianSecondsToAccept: '受理用时中位数', satisfaction: '满意率（态度/速度/质量）',
    forbidden: '您的角色无权查看此页。', loading: '加载中…', error: '出错了', yes: '是', no: '否',
    reminders: '督查催办', noDeadlines: '无反馈时限。', arrivalDeadline: '到场时限', completionDeadline: '办结时限', reminderRounds: '催办轮次', overdue: '超时，已报联动办',
    deadline_pending: '等待反馈', deadline_reminding: '催办中', deadline_met: '已按时限反馈', deadline_overdue: '超时', deadline_cancelled: '已取消',
    round: '轮次', target: '对象', reminderAnswer: '答复', target_chain: '值班链', target_leader: '单位领导', target_command_centre: '110指挥中心',
    answer_done: '已到场/已办结', answer_on_the_way: '仍在途中/处置中', answer_need_help: '请求支援',
    disputes: '管辖争议', dispute_open: '待裁定', dispute_upheld: '争议成立', dispute_rejected: '争议不成立', helpedFirst: '先行处置单位', units: '联合处置单位', leadUnit: '牵头',
    navDisputes: '管辖争议', noDisputes: '暂无管辖争议。', disputeOpenedAt: '提出时间', disputeReassignedTo: '改派单位', disputeNote: '裁定意见', disputeDecidedBy: '裁定人', disputeDecidedAt: '裁定时间',
    settleDecision: '裁定', settleReassign: '改派至', settleNoReassign: '不改派', settleNote: '裁定意见（必填）', settleNoteRequired: '请填写裁定意见', settleSubmit: '裁定',
  },
  en: {
    appTitle: '110 Social Linkage', appSubtitle: 'Linkage office console',
    signIn: 'Sign in', signOut: 'Sign out', tokenLabel: 'Access token', tokenHint: 'Enter the access token you were given (kept in this tab only).',
    signInFailed: 'The token is unknown or disabled.', noConsoleRole: 'This console is for the 110 desk, the linkage office, admins and a unit’s own users (a token bound to the unit); a shared department token uses the feedback line or the API.',
    navBoard: 'Live board', navRegister: 'Callback register', navFlags: 'Flags', navAssessment: 'Quarterly assessment', language: '中文',
    live: 'Live', reconnecting: 'Reconnecting…', streamRefused: 'The live feed was refused; sign in again.',
    boardTitle: 'Orders, live', boardEmpty: 'No orders yet.', code: 'Code', createdAt: 'Created', department: 'Department', category: 'Category',
    status: 'Status', calls: 'Calls', acceptedBy: 'Accepted', summary: 'Summary', urgent: 'urgent', major: 'major', seconds: 's',
    filterAll: 'All', filterActive: 'Active', callLive: 'in call',
    caseTitle: 'Case', back: 'Back to the board', address: 'Address', reporterPhone: 'Reporter phone', urgency: 'Urgency', normal: 'normal',
    acknowledgement: 'Acceptance', notAccepted: 'Not accepted yet', disputed: 'jurisdiction disputed', via: 'Via', viaPhone: 'keypad', viaFeedback: 'feedback',
    attempts: 'Calls', seq: '#', script: 'Kind', contact: 'Contact', number: 'Number', startedAt: 'Started', answeredAt: 'Answered', endedAt: 'Ended',
    result: 'Result', cause: 'Hang-up cause', digits: 'Keys', feedback: 'Feedback', noFeedback: 'No feedback yet.', surveys: 'Callbacks', noSurveys: 'No callback yet.',
    timeline: 'Timeline', actor: 'Actor', confirmations: 'Confirmations', lateAcknowledgements: 'Late acceptances', notFound: 'No such order.',
    registerTitle: 'Callback register (three satisfactions)', from: 'From', to: 'To', apply: 'Show', downloadCsv: 'Download CSV', registerEmpty: 'No callbacks in this period.',
    incidentAt: 'Incident', callbackAt: 'Callback', kind: 'Kind', attemptsCount: 'Attempts', attitude: 'Attitude', speed: 'Speed',
    quality: 'Quality', disposition: 'Disposition', flagsTitle: 'Flags for the linkage office', flagsEmpty: 'No flags.', reason: 'Reason', flaggedAt: 'Flagged',
    open: 'Open', assessmentTitle: 'Quarterly assessment', quarter: 'Quarter', print: 'Print', transmittal: '110 centre quarterly transmittal: departments ranked',
    rank: 'Rank', definitions: 'Definitions', generatedAt: 'Generated', period: 'Period', totals: 'All departments', noRank: '—',
    received: 'Received', accepted: 'Accepted', acceptanceRate: 'Acceptance rate', medianSecondsToAccept: 'Median s to accept', satisfaction: 'Satisfied (attitude/speed/quality)',
    forbidden: 'Your role may not see this page.', loading: 'Loading…', error: 'Error', yes: 'yes', no: 'no',
    reminders: 'Reminders (督查催办)', noDeadlines: 'No feedback deadlines.', arrivalDeadline: 'Arrival due', completionDeadline: 'Completion due', reminderRounds: 'reminder rounds', overdue: 'overdue, flagged',
    deadline_pending: 'waiting', deadline_reminding: 'reminding', deadline_met: 'met', deadline_overdue: 'overdue', deadline_cancelled: 'cancelled',
    round: 'Round', target: 'Called', reminderAnswer: 'Answer', target_chain: 'duty chain', target_leader: 'unit leader', target_command_centre: '110 command centre',
    answer_done: 'arrived / completed', answer_on_the_way: 'still on the way / handling', answer_need_help: 'needs help',
    disputes: 'Jurisdiction disputes', dispute_open: 'open', dispute_upheld: 'upheld', dispute_rejected: 'rejected', helpedFirst: 'Helped first', units: 'Units on this order', leadUnit: 'lead',
    navDisputes: 'Disputes', noDisputes: 'No jurisdiction disputes.', disputeOpenedAt: 'Opened', disputeReassignedTo: 'Reassigned to', disputeNote: 'Decision note', disputeDecidedBy: 'Decided by', disputeDecidedAt: 'Decided',
    settleDecision: 'Decision', settleReassign: 'Reassign to', settleNoReassign: 'no reassignment', settleNote: 'note (required)', settleNoteRequired: 'a note is required', settleSubmit: 'Settle',
  },
};

/** @type {Record<Language, Record<string, string>>} */
const STATUS = {
  'zh-CN': { dispatching: '呼叫中', accepted: '已受理', unacknowledged: '无人受理', arrived: '已到场', completed: '已办结', surveyed: '已回访', cancelled: '已撤销' },
  en: { dispatching: 'dispatching', accepted: 'accepted', unacknowledged: 'unacknowledged', arrived: 'arrived', completed: 'completed', surveyed: 'surveyed', cancelled: 'cancelled' },
};

/** @type {Record<Language, Record<string, string>>} */
const RESULT = {
  'zh-CN': { accepted: '已受理', no_answer: '无人接听', busy: '占线', failed: '呼叫失败', hangup: '中途挂机', no_input: '未按键', interrupted: '中断', cancelled: '已取消' },
  en: { accepted: 'accepted', no_answer: 'no answer', busy: 'busy', failed: 'failed', hangup: 'hung up', no_input: 'no key', interrupted: 'interrupted', cancelled: 'cancelled' },
};

/** @type {Record<Language, Record<string, string>>} */
const SCRIPT = {
  'zh-CN': { dispatch: '派单', alarm: '报警指挥中心', major: '报告县领导' },
  en: { dispatch: 'dispatch', alarm: 'alarm', major: 'leaders' },
};

/** @type {Record<Language, Record<string, string>>} */
const ANSWER = {
  'zh-CN': { satisfied: '满意', unsatisfied: '不满意', no_answer: '未回答', completed: '完成', partial: '部分完成', unreachable: '未接通', opted_out: '拒绝回访', scheduled: '待回访', calling: '回访中', cancelled: '已取消', callback: '回访', follow_up: '二次回访' },
  en: { satisfied: 'satisfied', unsatisfied: 'not satisfied', no_answer: 'no answer', completed: 'completed', partial: 'partial', unreachable: 'unreachable', opted_out: 'opted out', scheduled: 'scheduled', calling: 'calling', cancelled: 'cancelled', callback: 'callback', follow_up: 'follow-up' },
};

/** Case events as people say them; unknown kinds are shown as they are. */
/** @type {Record<Language, Record<string, string>>} */
const EVENT = {
  'zh-CN': {
    order_created: '指令生成', dispatch_started: '开始呼叫', attempt_started: '拨打电话', attempt_ended: '通话结束', keypad: '按键', retry_scheduled: '稍后重拨',
    next_contact: '转下一联系人', loop_scheduled: '安排再轮呼叫', next_loop: '再轮呼叫', acceptance_committed: '受理已记录', late_acceptance_committed: '迟到受理已记录',
    late_acceptance: '迟到受理', chain_exhausted: '呼叫链用尽，无人受理', alarm_confirmed: '指挥中心已确认', alarm_unconfirmed: '指挥中心未确认', alarm_retry_scheduled: '指挥中心重拨',
    alarm_confirmation_committed: '指挥中心确认已记录', major_confirmation_committed: '县领导确认已记录', leaders_notified: '已通报县领导', leader_confirmed: '县领导已确认',
    webhook_sent: '已推送通知', webhook_queued: '通知已入队待推送', webhook_failed: '通知推送失败', feedback_arrived: '反馈：已到场', feedback_progress: '反馈：处置进展', feedback_completed: '反馈：已办结',
    accepted: '呼叫流程确认受理', cancelled: '已撤销', finished: '呼叫流程结束', awaiting_settlement: '等待通话结束', dispatch_resumed: '重启后继续呼叫', attempt_interrupted: '呼叫中断',
    survey_scheduled: '已安排回访', survey_call_started: '回访拨出', survey_answer: '回访答复', survey_finished: '回访结束', survey_retry_scheduled: '回访稍后重拨',
    survey_key: '回访按键', survey_opt_out: '报警人拒绝回访', flagged_unsatisfied: '标记为不满意', dispatch_failed: '无法呼叫', dispatch_crashed: '呼叫流程异常',
    dead_line: '线路不通，立即转下一联系人', confirmation_interrupted: '确认播报中断（受理有效）',
    deadline_set: '设定反馈时限', deadline_missed: '超过反馈时限', reminder_round: '督办催办呼叫', reminder_call_ended: '催办电话结束', reminder_keypad: '催办按键',
    reminder_answered: '催办答复已记录', reminder_scheduled: '安排下次催办', flagged_overdue: '超时，已报联动办并通知单位领导', deadline_met: '时限内反馈已到',
    dispute_upheld: '管辖争议裁定成立', dispute_rejected: '管辖争议裁定不成立', reassigned: '改派其他单位',
    help_alarm_confirmed: '求援告警：指挥中心已确认', help_alarm_unconfirmed: '求援告警：指挥中心未确认', leader_reminder_ended: '单位领导催办结束', reminder_resumed: '重启后继续催办',
  },
  en: {
    order_created: 'order created', dispatch_started: 'calling started', attempt_started: 'call placed', attempt_ended: 'call ended', keypad: 'key pressed', retry_scheduled: 'retry scheduled',
    next_contact: 'next contact', loop_scheduled: 'another pass scheduled', next_loop: 'another pass', acceptance_committed: 'acceptance recorded', late_acceptance_committed: 'late acceptance recorded',
    late_acceptance: 'late acceptance', chain_exhausted: 'chain exhausted, nobody accepted', alarm_confirmed: 'command centre confirmed', alarm_unconfirmed: 'command centre did not confirm', alarm_retry_scheduled: 'command centre retry',
    alarm_confirmation_committed: 'command centre confirmation recorded', major_confirmation_committed: 'leader confirmation recorded', leaders_notified: 'county leaders notified', leader_confirmed: 'leader confirmed',
    webhook_sent: 'webhook sent', webhook_queued: 'webhook queued', webhook_failed: 'webhook failed', feedback_arrived: 'feedback: arrived', feedback_progress: 'feedback: progress', feedback_completed: 'feedback: completed',
    accepted: 'accepted, calling stopped', cancelled: 'cancelled', finished: 'calling finished', awaiting_settlement: 'waiting for the call to end', dispatch_resumed: 'resumed after restart', attempt_interrupted: 'call interrupted',
    survey_scheduled: 'callback scheduled', survey_call_started: 'callback placed', survey_answer: 'callback answer', survey_finished: 'callback finished', survey_retry_scheduled: 'callback retry scheduled',
    survey_key: 'callback key', survey_opt_out: 'citizen opted out', flagged_unsatisfied: 'flagged: not satisfied', dispatch_failed: 'could not call', dispatch_crashed: 'calling crashed',
    dead_line: 'line dead, next contact at once', confirmation_interrupted: 'confirmation interrupted (acceptance stands)',
    deadline_set: 'feedback deadline set', deadline_missed: 'feedback deadline passed', reminder_round: 'reminder call round', reminder_call_ended: 'reminder call ended', reminder_keypad: 'reminder key',
    reminder_answered: 'reminder answer recorded', reminder_scheduled: 'next reminder scheduled', flagged_overdue: 'overdue: flagged, unit leader called', deadline_met: 'feedback in',
    dispute_upheld: 'dispute upheld', dispute_rejected: 'dispute rejected', reassigned: 'reassigned to another unit',
    help_alarm_confirmed: 'help alarm confirmed by the command centre', help_alarm_unconfirmed: 'help alarm not confirmed', leader_reminder_ended: 'unit leader reminder ended', reminder_resumed: 'reminders resumed after restart',
  },
};

/** Names of the details shown on the timeline. */
/** @type {Record<Language, Record<string, string>>} */
const DETAIL = {
  'zh-CN': {
    category: '类别', urgency: '紧急程度', major: '重大', seq: '序号', script: '类型', result: '结果', key: '按键', disputed: '争议', secondsToAccept: '受理用时（秒）',
    via: '方式', note: '备注', kind: '类型', dueAt: '计划时间', question: '问题', answer: '回答', meaning: '含义', disposition: '结果', reason: '原因', status: '状态',
    replay: '重播', attemptOnContact: '同一联系人第几次', nextSeq: '下一序号', loop: '轮次', contactIndex: '联系人序号', delaySeconds: '间隔（秒）', attempts: '次数',
    count: '人数', departmentId: '单位',
  },
  en: {},
};

const STORAGE_KEY = 'liandong.console.language';

/** @returns {Language} */
function initialLanguage() {
  const saved = window.localStorage.getItem(STORAGE_KEY);
  return saved === 'en' ? 'en' : 'zh-CN';
}

let current = initialLanguage();

/** @returns {Language} */
export function language() {
  return current;
}

/** @param {Language} lang */
export function setLanguage(lang) {
  current = lang;
  window.localStorage.setItem(STORAGE_KEY, lang);
  document.documentElement.lang = lang;
}

/** @param {string} key */
export function t(key) {
  return TEXTS[current][key] ?? key;
}

/** @param {Record<Language, Record<string, string>>} table @param {string | null | undefined} value */
function word(table, value) {
  if (value === null || value === undefined || value === '') return '';
  return table[current][value] ?? value;
}

/** @param {string} s */ export const statusText = (s) => word(STATUS, s);
/** @param {string | null} r */ export const resultText = (r) => word(RESULT, r);
/** @param {string} s */ export const scriptText = (s) => word(SCRIPT, s);
/** @param {string | null} a */ export const answerText = (a) => word(ANSWER, a);
/** @param {string} k */ export const eventText = (k) => word(EVENT, k);
/** @param {string} k */ export const detailName = (k) => word(DETAIL, k);
