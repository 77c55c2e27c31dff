import { readFeedback, type Feedback } from './topic-pub-feedback.ts';
import type { TopicSession } from './topic-session.ts';

/**
 * What the server says (its status messages, read as feedback) and the connection's close: kept until a
 * publication takes them over by setting `onFeedback` and `onClosed`.
 */
export class ServerWords {
  readonly early: Feedback[] = [];
  closed: string | undefined;
  onFeedback = (f: Feedback): void => {
    this.early.push(f);
  };
  onClosed = (why: string): void => {
    this.closed = why;
  };

  constructor(conn: TopicSession['conn'], topic: string, type: string) {
    conn.onStatus((status) => this.onFeedback(readFeedback(status, topic, type)));
    conn.onClose((why) => this.onClosed(why));
  }
}
