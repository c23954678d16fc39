// The admin token for this browser tab: sessionStorage, so it goes when the tab does.
const KEY = 'orderflow.console.token';

export const getToken = (): string | null => sessionStorage.getItem(KEY);
export const setToken = (token: string): void => sessionStorage.setItem(KEY, token);
export const clearToken = (): void => sessionStorage.removeItem(KEY);
