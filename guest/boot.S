/*
 * Entry of the Ballast test guest: multiboot header, a flat GDT, an IDT whose timer
 * vector counts ticks, and a stack. Everything else is in kernel.c.
 */
        .set MB_MAGIC, 0x1BADB002
        .set MB_FLAGS, 0x00000003          /* page-aligned modules, memory info */
        .set MB_CHECKSUM, -(MB_MAGIC + MB_FLAGS)

        .section .multiboot, "a"
        .align 4
        .long MB_MAGIC
        .long MB_FLAGS
        .long MB_CHECKSUM

        .section .bss
        .align 16
stack_bottom:
        .skip 16384
stack_top:

        .align 8
idt:
        .skip 256 * 8

        .section .data
        .align 8
gdt:
        .quad 0x0000000000000000           /* null */
        .quad 0x00CF9A000000FFFF           /* 0x08: code, flat 4 GiB, ring 0 */
        .quad 0x00CF92000000FFFF           /* 0x10: data, flat 4 GiB, ring 0 */
gdt_end:
gdt_descriptor:
        .word gdt_end - gdt - 1
        .long gdt
idt_descriptor:
        .word 256 * 8 - 1
        .long idt

        .section .text
        .global _start
_start:
        cli
        mov $stack_top, %esp
        mov %eax, %ecx                     /* multiboot magic */
        lgdt gdt_descriptor
        ljmp $0x08, $reload_segments
reload_segments:
        mov $0x10, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %fs
        mov %ax, %gs
        mov %ax, %ss

        /* Every vector: exceptions halt, IRQs are acknowledged; vector 0x20 is the timer. */
        xor %edi, %edi
fill_idt:
        cmp $0x20, %edi
        jb 1f
        cmp $0x30, %edi
        jb 2f
1:      mov $isr_fault, %eax
        jmp 3f
2:      mov $isr_irq, %eax
3:      cmp $0x20, %edi
        jne 4f
        mov $isr_timer, %eax
4:      mov %ax, idt(,%edi,8)
        movw $0x08, idt+2(,%edi,8)
        movw $0x8E00, idt+4(,%edi,8)      /* present, ring 0, 32-bit interrupt gate */
        shr $16, %eax
        mov %ax, idt+6(,%edi,8)
        inc %edi
        cmp $256, %edi
        jne fill_idt
        lidt idt_descriptor

        push %ebx                          /* multiboot info */
        push %ecx                          /* multiboot magic */
        call kernel_main
halt_forever:
        cli
        hlt
        jmp halt_forever

isr_timer:
        pusha
        cld
        call timer_tick
        mov $0x20, %al
        outb %al, $0x20                    /* end of interrupt, master PIC */
        popa
        iret

isr_irq:
        pusha
        mov $0x20, %al
        outb %al, $0xA0
        outb %al, $0x20
        popa
        iret

isr_fault:
        cld
        call guest_fault
        jmp halt_forever

        .section .note.GNU-stack, "", @progbits
