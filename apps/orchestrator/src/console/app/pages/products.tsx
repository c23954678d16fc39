import { useState } from 'preact/hooks';
import { api } from '../api';
import type { Product } from '../types';
import { Field, Heading, money, useApiCall, useLoad } from '../ui';

/** The catalog with on-hand and available stock; edit a product's name, price and on-hand stock. */
export function ProductsPage() {
  const [products, reload] = useLoad(() => api.get<{ items: Product[] }>('/v1/admin/products'), []);
  const [editing, setEditing] = useState<string | null>(null);
  return (
    <section>
      <Heading>Products</Heading>
      {products && (
        <table data-testid="product-table">
          <caption class="visually-hidden">Products</caption>
          <thead>
            <tr>
              <th scope="col">SKU</th>
              <th scope="col">Name</th>
              <th scope="col" class="num">
                Price
              </th>
              <th scope="col" class="num">
                On hand
              </th>
              <th scope="col" class="num">
                Available
              </th>
              <th scope="col">Edit</th>
            </tr>
          </thead>
          {products.items.map((p) => (
            <tbody key={p.sku} data-testid="product-row" data-sku={p.sku}>
              <tr>
                <td class="mono">{p.sku}</td>
                <td>{p.name}</td>
                <td class="num" data-testid="product-price">
                  {money(p.priceCents)}
                </td>
                <td class="num" data-testid="product-on-hand">
                  {p.onHand}
                </td>
                <td class="num" data-testid="product-available">
                  {p.available}
                </td>
                <td>
                  <button
                    type="button"
                    class="secondary"
                    aria-expanded={editing === p.sku}
                    onClick={() => setEditing(editing === p.sku ? null : p.sku)}
                    data-testid="product-edit"
                  >
                    {editing === p.sku ? 'Close' : 'Edit'}
                  </button>
                </td>
              </tr>
              {editing === p.sku && (
                <tr class="expanded">
                  <td colSpan={6}>
                    <ProductForm
                      product={p}
                      onSaved={() => {
                        setEditing(null);
                        reload();
                      }}
                    />
                  </td>
                </tr>
              )}
            </tbody>
          ))}
        </table>
      )}
    </section>
  );
}

function ProductForm({ product, onSaved }: { product: Product; onSaved: () => void }) {
  const call = useApiCall();
  const [name, setName] = useState(product.name);
  const [price, setPrice] = useState(money(product.priceCents));
  const [stock, setStock] = useState(String(product.onHand));
  const [busy, setBusy] = useState(false);
  const save = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    const body = { name: name.trim(), priceCents: Math.round(Number(price) * 100), stock: Number(stock) };
    const done = await call(() => api.put(`/v1/admin/products/${encodeURIComponent(product.sku)}`, body));
    setBusy(false);
    if (done !== undefined) onSaved();
  };
  return (
    <form class="inline-form" onSubmit={save} data-testid="product-form">
      <Field label="Name">{(id) => <input id={id} required value={name} onInput={(e) => setName(e.currentTarget.value)} data-testid="product-name" />}</Field>
      <Field label="Price">
        {(id) => (
          <input
            id={id}
            required
            type="number"
            min="0"
            step="0.01"
            value={price}
            onInput={(e) => setPrice(e.currentTarget.value)}
            data-testid="product-price-input"
          />
        )}
      </Field>
      <Field label="Stock on hand" hint="units in the warehouse, reserved ones included">
        {(id) => (
          <input
            id={id}
            required
            type="number"
            min="0"
            step="1"
            value={stock}
            onInput={(e) => setStock(e.currentTarget.value)}
            data-testid="product-stock-input"
          />
        )}
      </Field>
      <button type="submit" disabled={busy} data-testid="product-save">
        Save
      </button>
    </form>
  );
}
