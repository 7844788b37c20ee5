// The API's response shapes (from /openapi.json), as the app uses them. Decimals are strings.

export interface Tokens {
  userId: string;
  role: string;
  tokenType: string;
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  email?: string | null;
  cashBalance?: string | null;
}

export interface Instrument {
  symbol: string;
  tickSize: string;
  lotSize: string;
  minQuantity: string;
  halted: boolean;
  /** In its trading session; when closed only at-the-open and at-the-close orders are taken. */
  sessionOpen: boolean;
  /** `24/7`, weekdays and UTC hours, or `nyse`. */
  session?: string;
  /** The next opening and closing by the calendar (ISO 8601). */
  nextOpen?: string | null;
  nextClose?: string | null;
  lastPrice?: string | null;
}

export interface Ticker {
  symbol: string;
  /** The latest price (the market's feed, or a trade since its last tick): what positions are valued at. */
  price?: string | null;
  /** The last trade's price. */
  last?: string | null;
  bid?: string | null;
  ask?: string | null;
  open24h?: string | null;
  high24h?: string | null;
  low24h?: string | null;
  volume24h: string;
  change24h?: string | null;
  changePercent24h?: string | null;
}

export interface BookLevel {
  price: string;
  quantity: string;
  orders: number;
}

export interface OrderBook {
  symbol: string;
  sequence: number;
  bids: BookLevel[];
  asks: BookLevel[];
}

export interface MarketTrade {
  tradeId: string;
  price: string;
  quantity: string;
  takerSide: string;
  timestamp: string;
}

export interface Candle {
  start: string;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  trades: number;
}

export interface Portfolio {
  userId: string;
  cashBalance: string;
  availableCash: string;
  reservedCash: string;
  holdings: Record<string, string>;
  reservedHoldings: Record<string, string>;
  openOrders: number;
  lastUpdatedTimestamp: string;
}

export interface Position {
  symbol: string;
  quantity: string;
  averageCost?: string | null;
  costBasis: string;
  lastPrice?: string | null;
  marketValue?: string | null;
  unrealizedPnl?: string | null;
  realizedPnl: string;
  fees: string;
  updatedAt: string;
}

export interface Positions {
  userId: string;
  cashBalance: string;
  marketValue: string;
  totalValue: string;
  positions: Position[];
}

export interface Figures {
  startValue: string;
  endValue: string;
  netDeposits: string;
  totalReturn?: number | null;
  volatility?: number | null;
  sharpe?: number | null;
  sortino?: number | null;
  maxDrawdown?: number | null;
}

export interface Performance extends Figures {
  userId: string;
  period: string;
  dailyReturns: { date: string; return?: number | null }[];
  valueHistory: { timestamp: string; value: string }[];
}

export interface OrderFill {
  tradeId: string;
  price: string;
  quantity: string;
  fee: string;
  liquidity: string;
  timestamp: string;
}

export interface Order {
  orderId: string;
  userId: string;
  symbol: string;
  side: string;
  type: string;
  timeInForce: string;
  /** The client's own id for the order, when it has one. */
  clientOrderId?: string;
  limitPrice?: string | null;
  stopPrice?: string | null;
  /** A trailing stop's trail, as placed: an amount or a percent of the price. */
  trailAmount?: string;
  trailPercent?: string;
  /** A waiting trailing stop: the best price since it was placed, which stopPrice trails. */
  watermark?: string;
  quantity?: string | null;
  notional?: string | null;
  status: string;
  reason?: string | null;
  /** Taken while its market was closed: waits for the open, outside the book. */
  queued?: boolean;
  filledQuantity: string;
  averagePrice?: string | null;
  fills: OrderFill[];
  createdAt: string;
  updatedAt: string;
}

export interface OrderList {
  orders: Order[];
  pagination: { nextPageToken?: string | null };
}

export interface OrderAccepted {
  orderId: string;
  status: string;
  clientOrderId?: string | null;
}

export interface Trade {
  eventId: string;
  orderId: string;
  userId: string;
  symbol: string;
  quantity: string;
  side: string;
  status: string;
  executionPrice?: string | null;
  executionTimestamp: string;
  failureReason?: string | null;
  tradeId?: string | null;
  fee: string;
  liquidity?: string | null;
}

export interface Pagination {
  nextPageToken?: string | null;
  totalCount: number;
}

export interface TradePage {
  trades: Trade[];
  pagination: Pagination;
}

export interface StatementLine {
  id: string;
  type: string;
  amount: string;
  balanceAfter: string;
  reference: string;
  symbol?: string | null;
  timestamp: string;
}

export interface Statement {
  userId: string;
  transactions: StatementLine[];
  pagination: Pagination;
}

export interface LeaderboardEntry extends Figures {
  rank: number;
  /** Null for someone else's private profile: ranked without saying whose it is. */
  userId: string | null;
  /** Shown for a public profile only; HTML-escaped by the server: shown through `unescape`. */
  displayName?: string | null;
}

export interface Leaderboard {
  period: string;
  entries: LeaderboardEntry[];
  pagination: Pagination;
}

export interface Alert {
  alertId: string;
  userId: string;
  severity: string;
  title: string;
  message: string;
  createdAt: string;
  acknowledgedAt?: string | null;
}

export interface ApiKey {
  keyId: string;
  name: string;
  scopes: string[];
  createdAt: string;
  revoked: boolean;
  apiKey?: string | null;
}

export interface LimitsView {
  tradingEnabled: boolean;
  maxOrderQuantity?: string | null;
  maxOrderNotional?: string | null;
  maxOpenOrders?: number | null;
  maxPosition?: string | null;
  maxGrossExposure?: string | null;
  maxDailyNotional?: string | null;
  maxDailyLoss?: string | null;
  maxOrdersPerMinute?: number | null;
  maxTradesPerDay?: number | null;
  allowedSymbols?: string[] | null;
  blockedSymbols?: string[] | null;
  allowedOrderTypes?: string[] | null;
  tradingHours?: string | null;
  minSharePrice?: string | null;
  maxSymbolSharePercent?: string | null;
}

/** A user in `GET /v1/users` (admins). */
export interface UserListed {
  userId: string;
  email: string;
  username: string;
  role: string;
  organisationId: string | null;
  createdAt: string;
}

/** An organisation in `GET /v1/organisations`. */
export interface OrganisationListed {
  organisationId: string;
  name: string;
  createdAt: string;
  members: number;
  groups: number;
}

export interface Organisation {
  organisationId: string;
  name: string;
  groups: { groupId: string; name: string }[];
  members: { userId: string; username?: string | null; role: string; groupId?: string | null }[];
}

export interface AuditEntry {
  id: string;
  timestamp: string;
  actor: string;
  action: string;
  subject: string;
  details?: unknown;
}

export interface Profile {
  userId: string;
  /** HTML-escaped by the server: shown through `unescape`. */
  displayName: string;
  bio: string;
  public: boolean;
  avatarUrl?: string | null;
  followers: number;
  following: number;
  followedByYou: boolean;
}

export interface Share {
  shareId: string;
  userId: string;
  displayName: string;
  kind: "TRADE" | "ORDER";
  referenceId: string;
  symbol: string;
  side: string;
  quantity: string;
  price?: string | null;
  comment: string;
  likes: number;
  comments: number;
  likedByYou: boolean;
  createdAt: string;
}

export interface Comment {
  commentId: string;
  shareId: string;
  userId: string;
  displayName: string;
  text: string;
  createdAt: string;
}

export interface AppNotification {
  notificationId: string;
  kind: string;
  title: string;
  message: string;
  createdAt: string;
  readAt?: string | null;
  /** Which of the user's accounts it is about (added by the app). */
  accountId?: string;
}

/** An invitation into an organisation (`/v1/me/invitations`). */
export interface Invitation {
  invitationId: string;
  organisationId: string;
  organisationName: string;
  role: "member" | "org_admin";
  groupId: string | null;
  createdAt: string;
  expiresAt: string;
  status: string;
}

export interface PriceAlert {
  alertId: string;
  symbol: string;
  direction: "ABOVE" | "BELOW";
  price: string;
  createdAt: string;
  triggeredAt?: string | null;
}

export interface NotificationPreferences {
  emailKinds: string[];
  slackKinds: string[];
  slackWebhookUrl?: string | null;
}

export interface PaperAccount {
  accountId: string;
  name: string;
  kind: "DEFAULT" | "PRACTICE" | "CONTEST";
  contestId?: string | null;
  cashBalance: string;
  startingCash: string;
  resets: number;
  holdings?: Record<string, string>;
}

export interface Contest {
  contestId: string;
  name: string;
  description: string;
  registrationStart: string;
  registrationEnd: string;
  tradingStart: string;
  tradingEnd: string;
  startingCash: string;
  visibility: "PUBLIC" | "INVITE";
  ranking: "RETURN" | "SHARPE";
  status: "UPCOMING" | "REGISTRATION" | "RUNNING" | "ENDED";
  entries: number;
  accountId?: string | null;
  finalizedAt?: string | null;
}

export interface Standing {
  rank: number;
  /** Null for someone else's private profile (unless the caller organises the contest). */
  userId: string | null;
  accountId: string | null;
  /** A public profile's name, or the caller's own; HTML-escaped by the server. */
  displayName?: string | null;
  equity: string;
  returnPercent: string;
  sharpe?: number | null;
}
