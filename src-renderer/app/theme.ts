/** Light and dark themes; the choice is remembered, the default follows the OS. */
import { webDarkTheme, webLightTheme, type Theme } from '@fluentui/react-components';
import { useEffect, useState } from 'react';

export type ThemeName = 'light' | 'dark';
const KEY = 'mailroom.theme';

function initial(): ThemeName {
  const saved = localStorage.getItem(KEY);
  if (saved === 'light' || saved === 'dark') return saved;
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function useThemeChoice(): [ThemeName, Theme, (name: ThemeName) => void] {
  const [name, setName] = useState<ThemeName>(initial);
  useEffect(() => {
    localStorage.setItem(KEY, name);
    document.documentElement.style.colorScheme = name;
  }, [name]);
  return [name, name === 'dark' ? webDarkTheme : webLightTheme, setName];
}
