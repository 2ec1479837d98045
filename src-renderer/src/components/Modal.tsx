/**
 * A modal dialog: rendered over the app (outside the header, so it keeps its own colours),
 * focus moves into it, Tab and Shift+Tab cycle inside it, the app behind it is inert, and
 * Escape or the close button close it and return focus to what opened it.
 */
import { useEffect, useRef, type ReactNode } from 'react';
import { createPortal } from 'react-dom';

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

function focusables(root: HTMLElement): HTMLElement[] {
  return Array.from(root.querySelectorAll<HTMLElement>(FOCUSABLE)).filter((el) => !el.closest('[inert]'));
}

/** How many modals are open: the app stays inert until the last one closes. */
let openModals = 0;

export function Modal(props: {
  label: string;
  onClose: () => void;
  /** Extra class names on the dialog (e.g. `small`). */
  className?: string;
  children: ReactNode;
}) {
  const { label, onClose, className, children } = props;
  const ref = useRef<HTMLDivElement>(null);
  const closeRef = useRef(onClose);
  closeRef.current = onClose;

  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const dialog = ref.current;
    const app = document.getElementById('root');
    openModals++;
    app?.setAttribute('inert', '');
    if (dialog) (focusables(dialog)[0] ?? dialog).focus();
    // Focus that lands outside (a click on the page behind, a screen reader) is brought back.
    const onFocusIn = (e: FocusEvent): void => {
      if (dialog && e.target instanceof Node && !dialog.contains(e.target)) (focusables(dialog)[0] ?? dialog).focus();
    };
    document.addEventListener('focusin', onFocusIn);
    return () => {
      document.removeEventListener('focusin', onFocusIn);
      openModals--;
      if (openModals === 0) app?.removeAttribute('inert');
      if (opener?.isConnected) opener.focus();
    };
  }, []);

  return createPortal(
    <div className="modal-backdrop">
      <div
        ref={ref}
        className={`viewer${className ? ` ${className}` : ''}`}
        role="dialog"
        aria-modal="true"
        aria-label={label}
        tabIndex={-1}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.stopPropagation();
            closeRef.current();
            return;
          }
          if (e.key !== 'Tab' || !ref.current) return;
          const items = focusables(ref.current);
          const first = items[0];
          const last = items.at(-1);
          if (!first || !last) {
            e.preventDefault();
            return;
          }
          const active = document.activeElement;
          if (e.shiftKey && (active === first || active === ref.current)) {
            e.preventDefault();
            last.focus();
          } else if (!e.shiftKey && active === last) {
            e.preventDefault();
            first.focus();
          }
        }}
      >
        {children}
      </div>
    </div>,
    document.body,
  );
}
