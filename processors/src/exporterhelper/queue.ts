/** One unit of queued work: an encoded request and what it stands for. */
export interface QueueItem {
  readonly body: Uint8Array;
  readonly items: number;
  /** Its record in the disk queue, when the exporter has `sending_queue.storage`. */
  readonly seq?: number;
}

/** Room reserved in a queue; exactly one of commit or release must be called. */
export interface Reservation {
  commit(): void;
  release(): void;
}

/**
 * A FIFO bounded by bytes, not by request count, so a burst of large LLM payloads cannot exhaust
 * memory. Bytes stay reserved until the sender reports the item finished (sent or dropped), so the
 * bound covers retries in flight too. Reserve-then-commit lets a fan-out admit a request to every
 * exporter or to none.
 */
export class ByteBoundedQueue {
  readonly capacityBytes: number;
  #usedBytes = 0;
  readonly #items: QueueItem[] = [];
  #head = 0;
  readonly #waiters: ((item: QueueItem | undefined) => void)[] = [];
  #closed = false;
  readonly #onChange: (usedBytes: number) => void;

  constructor(capacityBytes: number, onChange: (usedBytes: number) => void = () => {}) {
    this.capacityBytes = capacityBytes;
    this.#onChange = onChange;
  }

  get usedBytes(): number {
    return this.#usedBytes;
  }

  /** Items waiting to be taken (not those in flight). */
  get length(): number {
    return this.#items.length - this.#head;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether `bytes` more would fit now. */
  fits(bytes: number): boolean {
    return !this.#closed && this.#usedBytes + bytes <= this.capacityBytes;
  }

  /**
   * Queues an item recovered from disk at start, even past the capacity (a smaller queue_size than
   * the previous run's must not drop what was already accepted); new requests wait until it drains.
   */
  restore(item: QueueItem): void {
    this.#usedBytes += item.body.length;
    this.#onChange(this.#usedBytes);
    this.#items.push(item);
  }

  /** Reserves room for `item`, or returns undefined when it does not fit or the queue is closed. */
  tryReserve(item: QueueItem): Reservation | undefined {
    if (this.#closed || this.#usedBytes + item.body.length > this.capacityBytes) return undefined;
    this.#usedBytes += item.body.length;
    this.#onChange(this.#usedBytes);
    let done = false;
    return {
      commit: () => {
        if (done) return;
        done = true;
        const waiter = this.#waiters.shift();
        if (waiter) waiter(item);
        else this.#items.push(item);
      },
      release: () => {
        if (done) return;
        done = true;
        this.finished(item);
      },
    };
  }

  /** Next item, waiting for one; undefined once the queue is closed and empty. */
  take(): Promise<QueueItem | undefined> {
    const item = this.#shift();
    if (item || this.#closed) return Promise.resolve(item);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The next item if one is waiting and its size keeps the total at most `maxBytes`. */
  takeIfFits(maxBytes: number): QueueItem | undefined {
    const next = this.#items[this.#head];
    if (!next || next.body.length > maxBytes) return undefined;
    return this.#shift();
  }

  /** Gives back the bytes of an item that was sent or dropped. */
  finished(item: QueueItem): void {
    this.#usedBytes -= item.body.length;
    this.#onChange(this.#usedBytes);
  }

  /** Stops admitting; waiting takers get undefined once the queue is empty. */
  close(): void {
    this.#closed = true;
    if (this.length === 0) for (const w of this.#waiters.splice(0)) w(undefined);
  }

  /** Removes and returns everything still waiting (for counting at shutdown). */
  drain(): QueueItem[] {
    const rest = this.#items.slice(this.#head);
    this.#items.length = 0;
    this.#head = 0;
    return rest;
  }

  #shift(): QueueItem | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined as unknown as QueueItem;
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
    if (this.#closed && this.length === 0) for (const w of this.#waiters.splice(0)) w(undefined);
    return item;
  }
}
