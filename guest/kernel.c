/*
 * The Ballast test guest: dirties a working set of memory at a set rate and CPU duty cycle
 * so live migration can be made to converge easily, slowly, or not at all.
 *
 * Kernel command line (QEMU -append), sizes in bytes with an optional K/M/G suffix (binary):
 *   ws=32M     working set, rewritten page by page in a cycle (starts at 4 MiB)
 *   rate=50M   bytes dirtied per second (one word written per 4 KiB page); "max" = no limit
 *   duty=50    percent of each 100 ms the CPU is busy; the rest it halts (host CPU idles)
 *   fill=64M   bytes filled with non-zero data at boot, so pre-copy has real pages to send
 *
 * While it runs, the host changes the load by writing a line of the same keys (ws=, rate=,
 * duty=; e.g. "duty=90 rate=8M\n") to the control port COM2, which the guest polls every
 * millisecond; it applies the line, counts it in the status block and echoes it on COM1.
 *
 * The host reads progress from a status block at guest-physical 0x300000 (QMP
 * human-monitor-command "xp /10wx 0x300000") and from one serial line per second on COM1.
 * The ACPI power button (QMP system_powerdown) powers the guest off.
 */
#include <stdint.h>

#define STATUS_ADDR 0x00300000u
#define WS_BASE 0x00400000u
#define PAGE_SIZE 4096u
#define STATUS_MAGIC 0x54534C42u /* "BLST" */
#define TICK_HZ 1000u
#define PIT_HZ 1193182u
#define PERIOD_TICKS 100u
#define COM1 0x3F8u
#define COM2 0x2F8u
#define CONTROL_LINE_MAX 120u

struct status {
  uint32_t magic;
  uint32_t version;
  uint32_t state; /* 1 filling, 2 running, 3 powering off, 0xDEAD fault */
  uint32_t dirtied_pages;
  uint32_t ticks;
  uint32_t ws_pages;
  uint32_t rate_pages;
  uint32_t duty;
  uint32_t passes;
  uint32_t commands; /* control lines applied (version 2) */
};

struct multiboot_info {
  uint32_t flags;
  uint32_t mem_lower;
  uint32_t mem_upper;
  uint32_t boot_device;
  uint32_t cmdline;
};

static volatile struct status *const status = (volatile struct status *)STATUS_ADDR;
static volatile uint32_t ticks;
static volatile uint32_t credit; /* thousandths of a page the guest may still dirty */
static uint32_t rate_pages;      /* pages per second */
static uint32_t credit_cap;
static uint16_t pm_base;

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) {
  uint8_t v;
  __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
static inline uint16_t inw(uint16_t port) {
  uint16_t v;
  __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
static inline uint32_t inl(uint16_t port) {
  uint32_t v;
  __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

/* A 16550 serial port at `base`, 115200 8N1, FIFOs on, interrupts off (it is polled). */
static void serial_init(uint16_t base) {
  outb((uint16_t)(base + 1), 0x00);
  outb((uint16_t)(base + 3), 0x80);
  outb((uint16_t)(base + 0), 0x01);
  outb((uint16_t)(base + 1), 0x00);
  outb((uint16_t)(base + 3), 0x03);
  outb((uint16_t)(base + 2), 0xC7);
}

static void serial_putc(char c) {
  for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++) {
  }
  outb(COM1, (uint8_t)c);
}

static void print(const char *s) {
  while (*s) serial_putc(*s++);
}

static void print_u32(uint32_t v) {
  char buf[11];
  int i = 10;
  buf[i] = 0;
  do {
    buf[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v && i > 0);
  print(&buf[i]);
}

static void print_kv(const char *key, uint32_t v) {
  print(key);
  print_u32(v);
}

/* Parses "123", "64K", "32M", "1G" into bytes; sets *ok to 0 on garbage. */
static uint32_t parse_size(const char *s, int *ok) {
  uint32_t v = 0;
  int digits = 0;
  while (*s >= '0' && *s <= '9') {
    v = v * 10 + (uint32_t)(*s++ - '0');
    digits++;
  }
  switch (*s) {
  case 'K': case 'k': v <<= 10; s++; break;
  case 'M': case 'm': v <<= 20; s++; break;
  case 'G': case 'g': v <<= 30; s++; break;
  default: break;
  }
  *ok = digits > 0 && (*s == 0 || *s == ' ');
  return v;
}

static int key_is(const char *token, const char *key) {
  while (*key) {
    if (*token++ != *key++) return 0;
  }
  return *token == '=';
}

struct config {
  uint32_t ws;
  uint32_t rate;
  int unlimited;
  uint32_t duty;
  uint32_t fill;
};

static struct config cfg = {.ws = 16u << 20, .rate = 0, .unlimited = 0, .duty = 0, .fill = 0};
static uint32_t ws_limit; /* bytes of memory above WS_BASE */
static uint32_t ws_pages;

static void parse_cmdline(const char *line, struct config *cfg) {
  while (line && *line) {
    while (*line == ' ') line++;
    const char *token = line;
    while (*line && *line != ' ') line++;
    const char *value = token;
    while (value < line && *value != '=') value++;
    if (value == line) continue;
    value++;
    int ok = 0;
    if (key_is(token, "ws")) {
      uint32_t v = parse_size(value, &ok);
      if (ok) cfg->ws = v;
    } else if (key_is(token, "rate")) {
      if (value[0] == 'm' && value[1] == 'a' && value[2] == 'x') {
        cfg->unlimited = 1;
      } else {
        uint32_t v = parse_size(value, &ok);
        if (ok) {
          cfg->rate = v;
          cfg->unlimited = 0;
        }
      }
    } else if (key_is(token, "duty")) {
      uint32_t v = parse_size(value, &ok);
      if (ok) cfg->duty = v > 100 ? 100 : v;
    } else if (key_is(token, "fill")) {
      uint32_t v = parse_size(value, &ok);
      if (ok) cfg->fill = v;
    }
  }
}

/* 8259 PICs remapped to vectors 0x20-0x2F, only IRQ 0 (the PIT) unmasked. */
static void pic_init(void) {
  outb(0x20, 0x11);
  outb(0xA0, 0x11);
  outb(0x21, 0x20);
  outb(0xA1, 0x28);
  outb(0x21, 0x04);
  outb(0xA1, 0x02);
  outb(0x21, 0x01);
  outb(0xA1, 0x01);
  outb(0x21, 0xFE);
  outb(0xA1, 0xFF);
}

/* PIT channel 0, rate generator at TICK_HZ. */
static void pit_init(void) {
  uint32_t divisor = PIT_HZ / TICK_HZ;
  outb(0x43, 0x34);
  outb(0x40, (uint8_t)(divisor & 0xFF));
  outb(0x40, (uint8_t)(divisor >> 8));
}

/* PIIX4 power management I/O base (PCI 00:01.3, register 0x40), 0 if absent. */
static uint16_t acpi_pm_base(void) {
  uint32_t address = 0x80000000u | (0u << 16) | (1u << 11) | (3u << 8) | 0x40u;
  outl(0xCF8, address & ~3u);
  uint32_t id_probe = inl(0xCFC);
  if (id_probe == 0xFFFFFFFFu) return 0;
  return (uint16_t)(id_probe & 0xFFC0u);
}

/* Power-button status bit, enabled so QMP system_powerdown reaches the guest. */
static void acpi_init(void) {
  pm_base = acpi_pm_base();
  if (pm_base) outw((uint16_t)(pm_base + 2), 0x0100);
}

static void acpi_check_power_button(void) {
  if (!pm_base) return;
  if (!(inw(pm_base) & 0x0100)) return;
  outw(pm_base, 0x0100);
  status->state = 3;
  print("ballast-guest: power button, powering off\n");
  outw((uint16_t)(pm_base + 4), (uint16_t)((0u << 10) | (1u << 13))); /* S5 */
}

/* Makes `cfg` take effect: rate credit, working set bounds, the status block. */
static void apply_config(void) {
  if (cfg.ws > ws_limit) cfg.ws = ws_limit;
  uint32_t pages = cfg.unlimited ? 0xFFFFFFFFu : cfg.rate / PAGE_SIZE;
  uint32_t flags;
  __asm__ volatile("pushfl; popl %0; cli" : "=r"(flags) : : "memory"); /* the timer tick reads these */
  rate_pages = pages;
  credit_cap = cfg.unlimited ? 0 : pages * 200u + 1000u;
  if (credit > credit_cap) credit = credit_cap;
  __asm__ volatile("pushl %0; popfl" : : "r"(flags) : "memory", "cc");
  ws_pages = cfg.ws / PAGE_SIZE;
  status->ws_pages = ws_pages;
  status->rate_pages = rate_pages;
  status->duty = cfg.duty;
}

static void print_config(const char *prefix) {
  print(prefix);
  print_kv("ws=", cfg.ws);
  print_kv(" rate=", cfg.rate);
  print(cfg.unlimited ? "(max)" : "");
  print_kv(" duty=", cfg.duty);
}

static char control_line[CONTROL_LINE_MAX + 1];
static uint32_t control_length;
static int control_overflow;

/* Reads what COM2 holds; applies each complete line ("duty=90 rate=8M"). */
static void control_poll(void) {
  for (int n = 0; n < 64 && (inb(COM2 + 5) & 0x01); n++) {
    char c = (char)inb(COM2);
    if (c != '\n' && c != '\r') {
      if (control_length < CONTROL_LINE_MAX) {
        control_line[control_length++] = c;
      } else {
        control_overflow = 1;
      }
      continue;
    }
    if (control_length == 0 && !control_overflow) continue;
    control_line[control_length] = 0;
    if (control_overflow) {
      print("ballast-guest: control line too long, ignored\n");
    } else {
      uint32_t fill = cfg.fill;
      parse_cmdline(control_line, &cfg);
      cfg.fill = fill;
      apply_config();
      status->commands = status->commands + 1;
      print_config("ballast-guest: set ");
      print_kv(" commands=", status->commands);
      print("\n");
    }
    control_length = 0;
    control_overflow = 0;
  }
}

void timer_tick(void) {
  ticks++;
  uint32_t c = credit + rate_pages;
  credit = c > credit_cap ? credit_cap : c;
}

void guest_fault(void) {
  status->state = 0xDEAD;
  print("ballast-guest: CPU exception, halted\n");
}

static uint32_t xorshift(uint32_t *s) {
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *s = x;
}

void kernel_main(uint32_t magic, const struct multiboot_info *info) {
  serial_init(COM1);
  serial_init(COM2);
  uint32_t mem_end = 32u << 20;
  if (magic == 0x2BADB002u) {
    if (info->flags & 1u) mem_end = 0x100000u + info->mem_upper * 1024u;
    if (info->flags & 4u) parse_cmdline((const char *)info->cmdline, &cfg);
  }
  ws_limit = mem_end > WS_BASE ? mem_end - WS_BASE : 0;
  if (cfg.fill > ws_limit) cfg.fill = ws_limit;

  status->magic = STATUS_MAGIC;
  status->version = 2;
  status->state = 1;
  status->dirtied_pages = 0;
  status->passes = 0;
  status->commands = 0;
  apply_config();

  print_kv("ballast-guest: mem=", mem_end >> 20);
  print_config("M ");
  print_kv(" fill=", cfg.fill);
  print("\n");

  uint32_t seed = 0x9E3779B9u;
  for (uint32_t off = 0; off + 4 <= cfg.fill; off += 4) {
    *(volatile uint32_t *)(WS_BASE + off) = xorshift(&seed);
  }

  pic_init();
  pit_init();
  acpi_init();
  __asm__ volatile("sti");
  status->state = 2;
  print("ballast-guest: running\n");

  uint32_t cursor = 0;
  uint32_t stamp = 1;
  uint32_t last_report = 0;
  uint32_t last_check = 0;
  uint32_t last_poll = 0;
  for (;;) {
    uint32_t now = ticks;
    status->ticks = now;
    if (now != last_poll) {
      last_poll = now;
      control_poll();
      if (cursor >= ws_pages) cursor = 0;
    }
    if (now - last_check >= 10) {
      last_check = now;
      acpi_check_power_button();
    }
    if (now - last_report >= TICK_HZ) {
      last_report = now;
      print_kv("ballast-guest: t=", now);
      print_kv(" dirtied=", status->dirtied_pages);
      print_kv(" passes=", status->passes);
      print("\n");
    }
    if (now % PERIOD_TICKS >= cfg.duty) {
      __asm__ volatile("hlt");
      continue;
    }
    if (ws_pages == 0 || (!cfg.unlimited && credit < 1000u)) {
      __asm__ volatile("pause");
      continue;
    }
    if (!cfg.unlimited) __atomic_fetch_sub(&credit, 1000u, __ATOMIC_RELAXED);
    *(volatile uint32_t *)(WS_BASE + cursor * PAGE_SIZE) = stamp++;
    status->dirtied_pages = status->dirtied_pages + 1;
    if (++cursor >= ws_pages) {
      cursor = 0;
      status->passes = status->passes + 1;
    }
  }
}
