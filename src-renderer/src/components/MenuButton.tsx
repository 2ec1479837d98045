/**
 * A button that opens a small menu below it (the compact navigation, the role menu). The menu
 * closes on a choice, on Escape (focus back on the button) and on a click elsewhere.
 */
import { useEffect, useId, useRef, useState, type ReactNode } from 'react';

export function MenuButton(props: {
  /** What the button shows. */
  label: ReactNode;
  /** The button's accessible name when `label` is not enough. */
  ariaLabel?: string;
  className: string;
  /** The menu's items; call `close` after a choice. */
  children: (close: () => void) => ReactNode;
}) {
  const { label, ariaLabel, className, children } = props;
  const [open, setOpen] = useState(false);
  const wrap = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const id = useId();
  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent): void => {
      if (wrap.current && e.target instanceof Node && !wrap.current.contains(e.target)) setOpen(false);
    };
    document.addEventListener('mousedown', onDown);
    wrap.current?.querySelector<HTMLElement>('.menu-panel button')?.focus();
    return () => document.removeEventListener('mousedown', onDown);
  }, [open]);
  return (
    <div
      className="menu-wrap"
      ref={wrap}
      onKeyDown={(e) => {
        if (e.key === 'Escape' && open) {
          e.stopPropagation();
          setOpen(false);
          button.current?.focus();
        }
      }}
    >
      <button
        ref={button}
        className={className}
        aria-haspopup="true"
        aria-expanded={open}
        aria-controls={open ? id : undefined}
        {...(ariaLabel ? { 'aria-label': ariaLabel } : {})}
        onClick={() => setOpen((o) => !o)}
      >
        {label}
      </button>
      {open && (
        <div className="menu-panel" id={id}>
          {children(() => setOpen(false))}
        </div>
      )}
    </div>
  );
}
