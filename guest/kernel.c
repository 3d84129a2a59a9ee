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
 * The host reads progress from a status block at guest-physical 0x300000 (QMP
 * human-monitor-command "xp /10wx 0x300000") and from one serial line per second.
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
  uint32_t reserved;
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

/* Serial port COM1, 115200 8N1. */
static void serial_init(void) {
  outb(0x3F9, 0x00);
  outb(0x3FB, 0x80);
  outb(0x3F8, 0x01);
  outb(0x3F9, 0x00);
  outb(0x3FB, 0x03);
  outb(0x3FA, 0xC7);
}

static void serial_putc(char c) {
  for (int i = 0; i < 100000 && !(inb(0x3FD) & 0x20); i++) {
  }
  outb(0x3F8, (uint8_t)c);
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
        if (ok) cfg->rate = v;
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
  serial_init();
  struct config cfg = {.ws = 16u << 20, .rate = 0, .unlimited = 0, .duty = 0, .fill = 0};
  uint32_t mem_end = 32u << 20;
  if (magic == 0x2BADB002u) {
    if (info->flags & 1u) mem_end = 0x100000u + info->mem_upper * 1024u;
    if (info->flags & 4u) parse_cmdline((const char *)info->cmdline, &cfg);
  }
  uint32_t available = mem_end > WS_BASE ? mem_end - WS_BASE : 0;
  if (cfg.ws > available) cfg.ws = available;
  if (cfg.fill > available) cfg.fill = available;

  status->magic = STATUS_MAGIC;
  status->version = 1;
  status->state = 1;
  status->dirtied_pages = 0;
  status->passes = 0;
  status->ws_pages = cfg.ws / PAGE_SIZE;
  rate_pages = cfg.unlimited ? 0xFFFFFFFFu : cfg.rate / PAGE_SIZE;
  status->rate_pages = rate_pages;
  status->duty = cfg.duty;
  credit_cap = cfg.unlimited ? 0 : rate_pages * 200u + 1000u;

  print("ballast-guest: mem=");
  print_u32(mem_end >> 20);
  print_kv("M ws=", cfg.ws);
  print_kv(" rate=", cfg.rate);
  print(cfg.unlimited ? "(max)" : "");
  print_kv(" duty=", cfg.duty);
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

  uint32_t ws_pages = cfg.ws / PAGE_SIZE;
  uint32_t cursor = 0;
  uint32_t stamp = 1;
  uint32_t last_report = 0;
  uint32_t last_check = 0;
  for (;;) {
    uint32_t now = ticks;
    status->ticks = now;
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
    if (++cursor == ws_pages) {
      cursor = 0;
      status->passes = status->passes + 1;
    }
  }
}
